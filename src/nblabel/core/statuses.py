"""Image statuses: where each image stands, and the groups of them the code asks about.

``unlabeled``: nobody has labeled it; ``predicted``: a model's objects, not yet routed;
``review``: a model's objects a person should look at; ``auto``: a model's objects accepted
without a look; ``verified``: a person confirmed or drew its objects.

Example:
    >>> STATUSES
    ('unlabeled', 'predicted', 'review', 'auto', 'verified')
    >>> [s for s in STATUSES if s not in OPEN_STATUSES]
    ['verified']
"""

from __future__ import annotations

UNLABELED = "unlabeled"
PREDICTED = "predicted"
REVIEW = "review"
AUTO = "auto"
VERIFIED = "verified"

STATUSES = (UNLABELED, PREDICTED, REVIEW, AUTO, VERIFIED)
# Images nobody needs to look at: a person verified them, or the loop auto-accepted them.
DONE_STATUSES = (AUTO, VERIFIED)
# Images whose objects a model wrote and no person has confirmed.
MODEL_STATUSES = (PREDICTED, REVIEW, AUTO)
# Images a model may write over: nobody verified them (a person's work is never replaced).
OPEN_STATUSES = (UNLABELED, *MODEL_STATUSES)
