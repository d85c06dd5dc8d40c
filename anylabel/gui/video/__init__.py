"""Video mode: the frame slider, the tracker worker, the object list."""
