#!/usr/bin/env python3
"""RTP send intervals from a loopback capture: for each stream (UDP source port), the gaps
between consecutive packets as captured, and how far they are from 20 ms.

Usage: rtp_intervals.py CAPTURE.pcap [--skip-first N]

Reads a classic pcap (tcpdump -w) of link type Linux loopback/Ethernet (1), raw (101) or Linux
cooked (113). Prints the number of streams and packets, and the deviation of the intervals from
20 ms: median, p99, p99.9 and max, in milliseconds. The first N packets of each stream are left
out (default 1: the gap before a stream's first packet is not an interval).
"""
import struct
import sys


def packets(path):
    with open(path, "rb") as f:
        header = f.read(24)
        magic = struct.unpack("<I", header[:4])[0]
        if magic in (0xA1B2C3D4, 0xA1B23C4D):
            endian = "<"
        elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
            endian = ">"
        else:
            sys.exit("not a pcap file: " + path)
        nano = magic in (0xA1B23C4D, 0x4D3CB2A1)
        linktype = struct.unpack(endian + "I", header[20:24])[0]
        offset = {1: 14, 101: 0, 113: 16, 0: 4}.get(linktype)
        if offset is None:
            sys.exit("unsupported link type %d" % linktype)
        while True:
            record = f.read(16)
            if len(record) < 16:
                return
            sec, frac, caplen, _ = struct.unpack(endian + "IIII", record)
            data = f.read(caplen)
            ip = data[offset:]
            if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != 17:
                continue
            ihl = (ip[0] & 15) * 4
            src_port, dst_port = struct.unpack(">HH", ip[ihl:ihl + 4])
            yield sec + frac / (1e9 if nano else 1e6), src_port, dst_port


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, int(round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    skip = 1
    if "--skip-first" in sys.argv:
        skip = int(sys.argv[sys.argv.index("--skip-first") + 1])
    last = {}
    seen = {}
    deviations = []
    count = 0
    for t, src, _ in packets(sys.argv[1]):
        count += 1
        seen[src] = seen.get(src, 0) + 1
        if src in last and seen[src] > skip:
            deviations.append(abs((t - last[src]) * 1000 - 20.0))
        last[src] = t
    deviations.sort()
    print("streams %d, packets %d, intervals %d" % (len(seen), count, len(deviations)))
    print("deviation from 20 ms: median %.3f ms, p99 %.3f ms, p99.9 %.3f ms, max %.3f ms" % (
        percentile(deviations, 50), percentile(deviations, 99), percentile(deviations, 99.9),
        deviations[-1] if deviations else float("nan")))


if __name__ == "__main__":
    main()
