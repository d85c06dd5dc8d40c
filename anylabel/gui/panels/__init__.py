"""The window's side panels: the file list, the label and shape lists."""
