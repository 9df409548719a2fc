"""Trained models at work: export formats, runners, the predictor, evaluate, predict, info."""
