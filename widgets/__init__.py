"""Interactive figures for the course, drawn on top of lecture_utils."""
