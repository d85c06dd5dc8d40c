"""Image loading (EXIF, bit depth, channels) and content keys; video frame sources live beside it."""
from anylabel.imaging.loader import IMAGE_EXTENSIONS, file_key, image_size, is_image_file, load_image, pillow_open

__all__ = ["IMAGE_EXTENSIONS", "file_key", "image_size", "is_image_file", "load_image", "pillow_open"]
