"""Dataset formats: LabelMe, COCO, YOLO (detection, segmentation), MOT; SA-1B (semantic helper).

Start at :mod:`anylabel.formats.registry` (``export_folder``, ``import_dataset``, ``get_format``). The
package imports nothing on its own, so ``anylabel.formats.labelme`` stays a light import.

Map: ``base`` (Item, Options, Report), ``labels`` (labels.txt and ids), ``folder`` (reading LabelMe
folders robustly), ``instances`` (shapes → clean instances), ``images`` (checking and placing images),
``common`` (class list, split), ``coco``, ``yolo`` / ``yolo_read`` / ``yolo_geometry``, ``mot``,
``labelme_folder``, ``stats``, ``registry``.
"""
