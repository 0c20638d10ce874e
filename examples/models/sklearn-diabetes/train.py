"""Train the example model: a LinearRegression on scikit-learn's bundled diabetes data (no download).

Usage: python train.py OUTPUT_DIR   (writes OUTPUT_DIR/model.pkl, the file score.py loads)
"""

from __future__ import annotations

import argparse
import os

import joblib
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LinearRegression


def train(output_dir: str) -> str:
    """Fit the model and save it as model.pkl; returns the file's path."""
    features, target = load_diabetes(return_X_y=True)
    model = LinearRegression().fit(features, target)
    os.makedirs(output_dir, exist_ok=True)
    path = os.path.join(output_dir, "model.pkl")
    joblib.dump(model, path)
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("output_dir", help="directory to write model.pkl into (AZUREML_MODEL_DIR)")
    print(train(parser.parse_args().output_dir))  # noqa: T201 - a script's output
