"""Landmark features, augmentation and normalisation: TensorFlow code shared by training, evaluation, prediction and every export."""
