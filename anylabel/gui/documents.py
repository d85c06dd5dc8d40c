"""Where the image list and its LabelMe files moved: :mod:`anylabel.session.folder` (Qt-free). Re-exported
here for the GUI modules that import them from this name."""
from anylabel.session.folder import (
                                     ChangedOnDiskError,
                                     FileVersions,
                                     ImageFolder,
                                     display_name,
                                     natural_key,
                                     relative_image_path,
)

__all__ = ["ChangedOnDiskError", "FileVersions", "ImageFolder", "display_name", "natural_key",
           "relative_image_path"]
