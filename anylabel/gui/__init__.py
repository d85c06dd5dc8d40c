"""The Qt GUI: the only package of anylabel that imports Qt. It calls the core, never the other way."""
