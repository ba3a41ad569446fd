"""Retraining (app env): training examples, the training pipeline, model versions."""
