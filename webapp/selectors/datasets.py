"""The data sets this server offers: the engine's names, each with whether its files are here.

Where data sets live is the operator's setting (``LAB_DATA_DIR``); a search
names one, and the web host checks it with the engine's own test
(``search_engine.datasets.dataset_available``) before accepting the search.
"""

from __future__ import annotations

from django.conf import settings

DESCRIPTIONS = {
    "cifar10": "CIFAR-10 (32x32 colour images, 10 classes), the paper's proxy task",
    "digits": "scikit-learn's 8x8 handwritten digits, upscaled: small, for CPU searches",
    "synthetic": "generated class patterns, for tests and demos",
}


def dataset_is_available(*, name: str) -> bool:
    from search_engine.datasets import dataset_available

    return bool(dataset_available(name, str(settings.LAB_DATA_DIR)))


def datasets_offered() -> list[dict]:
    """``[{name, description, available}]`` for every data set the engine knows."""
    from search_engine.config import DATASETS

    return [{"name": name, "description": DESCRIPTIONS.get(name, name), "available": dataset_is_available(name=name)}
            for name in DATASETS]
