"""The kinds of edit a person makes, as the journal's events name them.

The Annotator writes one event per finished gesture with one of :data:`EDIT_KINDS`; the
effort report prices each kind (see :class:`nblabel.loop.report.EffortCosts`), so both read
the kinds from here. A model's write is a :data:`PREDICT` event.

Example:
    >>> [k for k in EDIT_KINDS if k in CORRECTION_KINDS]
    ['moved', 'resized', 'deleted', 'relabelled', 'rejected']
"""

from __future__ import annotations

ADDED = "added"
MOVED = "moved"
RESIZED = "resized"
DELETED = "deleted"
RELABELLED = "relabelled"
ACCEPTED = "accepted"
REJECTED = "rejected"
SUBMIT = "submit"  # the Annotator's "done with this image" without any change
EDIT = "edit"  # a human write that does not say which gesture made it
PREDICT = "predict"  # a model's write
# Objects read from a file: with no key, the rows an import added (the only write that adds
# rows); with a key, one image's objects written at once.
IMPORT = "import"

# What the Annotator's gestures send, one per finished gesture.
EDIT_KINDS = (ADDED, MOVED, RESIZED, DELETED, RELABELLED, ACCEPTED, REJECTED)
# How the effort report counts them.
DRAW_KINDS = (ADDED,)
CORRECTION_KINDS = (MOVED, RESIZED, DELETED, RELABELLED, REJECTED)
ACCEPT_KINDS = (ACCEPTED, SUBMIT)
# A human write without a named gesture (a script calling ds.annotate) replaced the image's
# objects in one go; the report costs it as drawing each of them, which never overstates
# savings.
UNITEMIZED_KINDS = (EDIT,)
