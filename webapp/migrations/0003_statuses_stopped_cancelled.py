"""Statuses that say what happened: a stopped search is ``stopped``, and a candidate its search
stopped (or failed) before it could be evaluated is ``cancelled``, not ``failed``.

Rows from before are brought in line: a search that finished with reason "stopped", and the
candidates failed with reason "stopped".
"""

from django.db import migrations, models
from django.db.models import Count


def forwards(apps, schema_editor):
    Search = apps.get_model("webapp", "Search")
    Candidate = apps.get_model("webapp", "Candidate")
    stopped = list(Search.objects.filter(status__in=("finished", "stopping"), status_reason="stopped")
                   .values_list("pk", flat=True))
    Search.objects.filter(pk__in=stopped).update(status="stopped", status_reason="stopped by its owner")
    touched = set(Candidate.objects.filter(status="failed", rejection_reason="stopped")
                  .values_list("search_id", flat=True))
    Candidate.objects.filter(status="failed", rejection_reason="stopped").update(status="cancelled")
    for search in Search.objects.filter(pk__in=touched):
        counts = dict.fromkeys(("queued", "running", "evaluated", "rejected", "failed", "lost", "cancelled"), 0)
        for row in Candidate.objects.filter(search=search).values("status").annotate(n=Count("id")).order_by():
            counts[row["status"]] = row["n"]
        search.counts = counts
        search.save(update_fields=["counts"])


class Migration(migrations.Migration):

    dependencies = [
        ('webapp', '0002_candidate_score_untold_indexes'),
    ]

    operations = [
        migrations.AlterField(
            model_name='candidate',
            name='status',
            field=models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('rejected', 'Rejected'), ('evaluated', 'Evaluated'), ('failed', 'Failed'), ('lost', 'Lost'), ('cancelled', 'Cancelled')], default='queued', max_length=10),
        ),
        migrations.AlterField(
            model_name='search',
            name='status',
            field=models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('paused', 'Paused'), ('stopping', 'Stopping'), ('stopped', 'Stopped'), ('finished', 'Finished'), ('failed', 'Failed')], default='queued', max_length=10),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
