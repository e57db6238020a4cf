"""`manage.py rotate_encryption_key`: re-encrypt every secret at rest under the newest FIELD_ENCRYPTION_KEY.

Rotation: put the new key first in FIELD_ENCRYPTION_KEY (old ones after it), deploy, run this, then drop the old
key. Reading works with any listed key throughout, so there is no downtime.
"""
from __future__ import annotations

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from backend.shops.crypto import EncryptedTextField


class Command(BaseCommand):
    help = "Re-encrypt all encrypted fields with the first key of FIELD_ENCRYPTION_KEY"

    def handle(self, *args, **opts) -> None:
        total = 0
        for model in apps.get_models():
            fields = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
            if not fields:
                continue
            manager = model._base_manager  # spans every shop on purpose: this job is about all secrets
            count = 0
            for pk in manager.values_list("pk", flat=True).iterator(chunk_size=500):
                with transaction.atomic():
                    obj = manager.select_for_update().get(pk=pk)  # decrypts with whichever key matches
                    obj.save(update_fields=fields)  # encrypts with the newest key
                count += 1
            total += count
            self.stdout.write(f"{model._meta.label}: {count} rows re-encrypted ({', '.join(fields)})")
        self.stdout.write(self.style.SUCCESS(f"done: {total} rows"))
