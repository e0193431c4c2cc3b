"""The layer lab's web application: models, services, selectors, API, consumers."""
