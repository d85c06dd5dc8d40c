"""The model side of the window: the model picker, the device menu and the click worker."""
