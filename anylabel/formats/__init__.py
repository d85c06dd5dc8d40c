"""Dataset formats: one reader/writer pair per format (LabelMe, COCO, YOLO, MOT, SA-1B)."""
