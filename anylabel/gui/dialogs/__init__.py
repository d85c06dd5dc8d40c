"""Dialogs: the label dialog, export / import, statistics, remembered options."""
