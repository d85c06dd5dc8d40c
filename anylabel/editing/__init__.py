"""Qt-free editing operations on shapes and masks, as pure functions the annotation session exposes as
undoable methods and the GUI calls through it.

One module per concern (imported by name; this package imports nothing eagerly, so the LabelMe codec can use
:mod:`~anylabel.geometry.rotated` without loading the backends):

* :mod:`~anylabel.editing.brush`: round brush / eraser strokes into a bool mask (in place, the changed box
  returned as an undoable :class:`~anylabel.editing.brush.MaskPatch`);
* :mod:`~anylabel.editing.convert`: any shape with an area to its full-size mask and back (mask -> shape
  through the core's one mask -> shape path);
* :mod:`~anylabel.editing.boolean`: union, subtraction and intersection of shapes (shapely; rasters where a
  mask takes part), holes kept;
* :mod:`~anylabel.editing.reprompt`: a finished shape as the model's mask input (SAM's 1x256x256 logits),
  and a brushed AI preview with the logits of what was painted;
* :mod:`~anylabel.geometry.rotated`: rotated rectangles (``rotation`` shapes);
* :mod:`~anylabel.editing.hit`: hit-testing, distances, boxes and areas of every shape type (``HitIndex``
  for many shapes), and which automatic mask a click keeps;
* :mod:`~anylabel.editing.detail`: polygon simplification tolerance <-> vertex count, for a slider;
* :mod:`~anylabel.editing.view`: brightness / contrast / gamma lookup tables for the display copy;
* :mod:`~anylabel.editing.review`: the review state of a folder ("next unchecked").

Coordinates are float image pixels ``(x, y)``, x right, y down, as everywhere in the core; masks are bool
HxW (rows, columns) at the image's full size.
"""
