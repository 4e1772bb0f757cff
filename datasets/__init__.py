"""Datasets: synthetic livestream frames, importers, splits, training and evaluation."""
