"""What segments tell other rooms: a segment's membership changed in bulk (a full pass, an edit, a sync's rebuild)."""
from django.dispatch import Signal

# Sent with shop_id, segment_id, entered (count), left (count) after a whole-segment evaluation changed anyone.
memberships_changed = Signal()
