"""Label suggestions (the SSA vote, CLIP) and the find box."""
