"""The kit's partitioner is the Java client's default (murmur2), only faster for repeated keys."""

import uuid

from aiokafka.partitioner import DefaultPartitioner
from punchcard_kit.messaging.producer import partition_for


def test_same_partition_as_the_default_partitioner_for_every_key():
    default = DefaultPartitioner()
    for count in (1, 6, 12, 7):
        partitions = list(range(count))
        for _ in range(300):
            key = f"{uuid.uuid4()}/{uuid.uuid4()}".encode()
            expected = default(key, partitions, partitions)
            assert partition_for(key, partitions, partitions) == expected
            assert partition_for(key, partitions, partitions) == expected  # remembered


def test_keyless_records_go_to_an_available_partition():
    assert partition_for(None, [0, 1, 2], [2]) == 2
    assert partition_for(None, [0, 1, 2], []) in (0, 1, 2)
