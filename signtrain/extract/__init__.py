"""Videos -> landmarks through MediaPipe Holistic."""
