"""Reads a TensorBoard event file written by lightning-cpp independently of it: checks both masked
CRC32C of every record (python3-crc32c) and prints each Event (python3-protobuf, with the module
protoc generates from src/loggers/tensorboard.proto)."""
import struct
import sys

import crc32c
import tensorboard_pb2


def masked(data):
    crc = crc32c.crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


with open(sys.argv[1], "rb") as f:
    content = f.read()
position = 0
records = 0
while position < len(content):
    header = content[position:position + 8]
    (length,) = struct.unpack("<Q", header)
    (length_crc,) = struct.unpack("<I", content[position + 8:position + 12])
    assert length_crc == masked(header), f"bad length CRC in record {records}"
    data = content[position + 12:position + 12 + length]
    (data_crc,) = struct.unpack("<I", content[position + 12 + length:position + 16 + length])
    assert data_crc == masked(data), f"bad data CRC in record {records}"
    position += 16 + length
    records += 1
    event = tensorboard_pb2.Event()
    event.ParseFromString(data)
    if event.HasField("file_version"):
        print("file_version", event.file_version)
        continue
    for value in event.summary.value:
        if value.metadata.plugin_data.plugin_name == "hparams":
            plugin = tensorboard_pb2.HParamsPluginData()
            plugin.ParseFromString(value.metadata.plugin_data.content)
            if plugin.HasField("session_start_info"):
                hparams = plugin.session_start_info.hparams
                print("hparams", " ".join(f"{k}={hparams[k].WhichOneof('kind')}:{getattr(hparams[k], hparams[k].WhichOneof('kind'))}"
                                          for k in sorted(hparams)))
            else:
                print("hparams", value.tag)
        else:
            print("scalar", event.step, value.tag, f"{value.simple_value:.6g}")
print("records", records)
