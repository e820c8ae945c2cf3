"""What must hold of one device after its own sync or push, whatever the network did.

An image the server will not take — a photo over its size limit, a signature image
whose bytes changed on the device after it was captured — is parked on the device with
its reason and never blocks the rest: once the device has synced whole, every other
image it captured is on the server and every write its app made has been answered. A
push takes off a device only rows that left its scope: a ticket the desk took away and
gave back before the push stays.

Worked out from the test's own record (the images captured, the writes made, the last
change each pull gave the device) and the server's tables, not from the engine's
bookkeeping.
"""

from __future__ import annotations

from tests.world import Device, ServerState, World, answered_writes, expected_view

__all__ = [
    "every_failed_image_is_parked_and_blocks_nothing",
    "failed_images_are_parked_and_block_nothing",
    "rows_given_back_stay_at_a_push",
]


def _names(value) -> list:
    """The image names a blob field holds (one, or a list of them)."""
    return value if isinstance(value, list) else [value]


def failed_images_are_parked_and_block_nothing(world: World, device: Device) -> None:
    """After the device synced whole: each image it captured that the server must refuse
    is parked on it with that reason, is not on the server, and the row naming it is on
    the device naming it still (while the row is in its scope); every other image it
    captured is on the server, whole; every write its app made has been answered."""
    parked = {p.sha256: p for p in device.replica.parked_blobs()}
    scope = None
    problems = []
    for image in (i for i in world.images if i.device_id == device.device_id):
        if image.refusal is None:
            if world.server.images.get(image.sha256) != image.sha256:
                problems.append(f"image {image.sha256} of {image.entity} {image.row_id} is not on the server")
            continue
        found = parked.get(image.sha256)
        if found is None or found.code != image.refusal:
            problems.append(f"image {image.sha256} of {image.entity} {image.row_id} is "
                            f"{'parked with ' + found.code if found else 'not parked'}; it must be parked with "
                            f"{image.refusal}")
        if image.sha256 in world.server.images:
            problems.append(f"image {image.sha256} ({image.refusal}) was uploaded")
        row = device.replica.get(image.entity, image.row_id)
        if row is None:
            scope = scope or expected_view(world.server, device)
            if image.row_id in scope[image.entity]:
                problems.append(f"{image.entity} {image.row_id}, naming parked image {image.sha256}, left the device")
        elif image.sha256 not in _names(row.get(image.field)):
            problems.append(f"{image.entity} {image.row_id}.{image.field} no longer names parked image "
                            f"{image.sha256}: {row.get(image.field)!r}")
    answered = sum(1 for write in answered_writes(world).values() if write.device_id == device.device_id)
    made = world.writes.get(device.device_id, [])
    if answered < len(made):
        waiting = [f"{w.op} {w.entity} {w.row_id}" for w in made[answered:]]
        problems.append(f"{len(waiting)} of its app's writes were never answered: {waiting}")
    assert not problems, f"{device.name} synced, but an image blocked or was not parked:\n  " + "\n  ".join(problems)


def every_failed_image_is_parked_and_blocks_nothing(world: World) -> None:
    for device in world.devices:
        failed_images_are_parked_and_block_nothing(world, device)


def rows_given_back_stay_at_a_push(server: ServerState, device: Device, gone: set[tuple[str, str]]) -> None:
    """``gone``: the rows a push took off the device that its last pull had given it.
    Each must have left its scope: one in its scope on the server was taken wrongly — a
    ticket the desk took away and gave back before the push, whose eviction note was
    kept once the ticket came back, say."""
    scope = expected_view(server, device)
    wrong = sorted(f"{entity} {row_id}" for entity, row_id in gone if row_id in scope[entity])
    assert not wrong, (f"{device.name}'s push took rows off the device that its last pull gave it and that are in its "
                       f"scope: " + ", ".join(wrong))
