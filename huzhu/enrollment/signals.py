"""Signals of the enrollment app, for the apps above it (which connect in their `ready`).

`enrollments_imported(sender=SchemeYear, scheme_year, batch_id)` is sent after an enrollment
import that wrote enrollments has committed (the settlements app then adjudicates again the
stored bureau records those enrollments may now cover).
"""

from django.dispatch import Signal

enrollments_imported = Signal()
