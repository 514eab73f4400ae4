"""The bottom layer: facts every other module shares, importing nothing else of nblabel.

Each fact lives in one small module named for what it holds, so a status, a skeleton or a
colour is written once and every layer above imports it instead of spelling it again:

- :mod:`nblabel.core.statuses`: the image statuses and the groups the code asks about;
- :mod:`nblabel.core.sources`: who wrote an annotation (``"human"`` or a model version);
- :mod:`nblabel.core.edits`: the kinds of edit a person makes (and a model's write), as the
  journal records them;
- :mod:`nblabel.core.tasks`: the model tasks (detect, segment, pose);
- :mod:`nblabel.core.skeletons`: the keypoint skeletons (COCO-17 body, face, hand);
- :mod:`nblabel.core.tracking`: the keys a video object carries, and which are keyframes;
- :mod:`nblabel.core.palette`: the class colours, and those of regions and errors;
- :mod:`nblabel.core.geometry`: box IoU (one pair, or a matrix), greedy matching, NMS;
- :mod:`nblabel.core.protocols`: what a model (``Predictor``, ``Trainable``) and a dataset
  (``DatasetLike``) must offer, as ``typing.Protocol`` classes;
- :mod:`nblabel.core.jsonsafe`: numpy and pandas values made plain for JSON;
- :mod:`nblabel.core.errors`: the base class of nblabel's own errors;
- :mod:`nblabel.core.lazy`: package attributes that import their module on first use.

``tests/test_layers.py`` checks that nothing here imports a module outside ``core``.
"""
