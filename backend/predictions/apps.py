from django.apps import AppConfig


class PredictionsConfig(AppConfig):
    name = "backend.predictions"
    label = "predictions"
