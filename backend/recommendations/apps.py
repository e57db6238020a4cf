from django.apps import AppConfig


class RecommendationsConfig(AppConfig):
    name = "backend.recommendations"
    label = "recommendations"

    def ready(self) -> None:
        from backend.recommendations import signals  # noqa: F401 - connects the order hooks
