"""The image canvas: painting, drawing tools and shape edits of the session's shapes."""
