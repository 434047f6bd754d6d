#!/usr/bin/env python3
"""fuzz/make-corpora.py - generates the fuzz targets' seed corpora.

Seeds are never written by hand: they come from the real captures in
$MARGAY_TESTDATA/pcap (default ../shared/testdata beside the repository), from the
configuration manual page and the configuration tests, and (for the whole-stack and
state-machine targets) from the TCP conversations in those captures re-addressed to
the harness's connection. Everything is deterministic: the same captures give the
same files.

  fuzz/make-corpora.py [--out DIR] [--max-bytes N]

--out defaults to fuzz/corpus (the committed seeds). Each target gets DIR/<target>/,
emptied first. Files are named <source>-<n> so a seed says where it came from.
"""
import argparse
import hashlib
import os
import random
import re
import shutil
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.path.dirname(HERE)

LINKTYPE_NULL, LINKTYPE_ETHERNET, LINKTYPE_RAW = 0, 1, 101


# ---------------------------------------------------------------- captures ----
def read_pcap(path):
    """Yields (linktype, frame bytes) from a classic pcap file (either byte order)."""
    with open(path, 'rb') as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = data[:4]
    if magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1'):
        endian = '<'
    elif magic in (b'\xa1\xb2\xc3\xd4', b'\xa1\xb2\x3c\x4d'):
        endian = '>'
    else:
        sys.stderr.write('%s: not a classic pcap file, skipped\n' % path)
        return
    linktype = struct.unpack(endian + 'I', data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        caplen = struct.unpack(endian + 'I', data[off + 8:off + 12])[0]
        off += 16
        if off + caplen > len(data):
            break
        yield linktype, data[off:off + caplen]
        off += caplen


def ipv4_of(linktype, frame):
    """The IPv4 packet in a frame, or None."""
    if linktype == LINKTYPE_ETHERNET:
        if len(frame) < 14:
            return None
        etype = struct.unpack('>H', frame[12:14])[0]
        off = 14
        if etype == 0x8100 and len(frame) >= 18:
            etype = struct.unpack('>H', frame[16:18])[0]
            off = 18
        return frame[off:] if etype == 0x0800 else None
    if linktype == LINKTYPE_NULL:
        return frame[4:] if len(frame) > 4 and frame[4] >> 4 == 4 else None
    if linktype == LINKTYPE_RAW:
        return frame if frame and frame[0] >> 4 == 4 else None
    return None


def l4_of(ip):
    """(proto, L4 bytes bounded by total length) of an IPv4 packet, or None."""
    if len(ip) < 20 or ip[0] >> 4 != 4:
        return None
    ihl = (ip[0] & 15) * 4
    total = struct.unpack('>H', ip[2:4])[0]
    if ihl < 20 or total < ihl:
        return None
    return ip[9], ip[ihl:min(total, len(ip))]


def captures(testdata):
    d = os.path.join(testdata, 'pcap')
    if not os.path.isdir(d):
        sys.exit('make-corpora: no captures in %s (set MARGAY_TESTDATA)' % d)
    for name in sorted(os.listdir(d)):
        if name.endswith('.pcap'):
            yield name.split('_')[0], os.path.join(d, name)


# ------------------------------------------------------------------ output ----
class Corpus:
    """One target's seed directory: deduplicated, bounded in bytes."""

    def __init__(self, root, target, max_bytes):
        self.dir = os.path.join(root, target)
        self.max_bytes = max_bytes
        self.bytes = 0
        self.seen = set()
        self.count = 0
        if os.path.isdir(self.dir):
            shutil.rmtree(self.dir)
        os.makedirs(self.dir)

    def add(self, source, data):
        digest = hashlib.sha1(data).digest()
        if digest in self.seen or self.bytes + len(data) > self.max_bytes:
            return False
        self.seen.add(digest)
        self.count += 1
        self.bytes += len(data)
        with open(os.path.join(self.dir, '%s-%03d' % (source, self.count)), 'wb') as f:
            f.write(data)
        return True


def shape_filter(limit):
    """Keeps at most `limit` seeds per shape key (so big captures do not crowd out the
    rare cases)."""
    counts = {}

    def keep(key):
        counts[key] = counts.get(key, 0) + 1
        return counts[key] <= limit
    return keep


def tcp_shape(seg):
    if len(seg) < 20:
        return ('short',)
    doff = (seg[12] >> 4) * 4
    kinds = []
    i = 20
    while i < min(doff, len(seg)):
        k = seg[i]
        kinds.append(k)
        if k == 0:
            break
        if k == 1:
            i += 1
            continue
        if i + 1 >= len(seg) or seg[i + 1] < 2:
            break
        i += seg[i + 1]
    return (seg[13], tuple(kinds), len(seg) > doff)


# ----------------------------------------------------------- wire targets ----
def make_wire(root, testdata, max_bytes):
    c = {t: Corpus(root, t, max_bytes) for t in
         ('wire_eth', 'wire_arp', 'wire_ipv4', 'wire_icmp', 'wire_udp', 'wire_tcp')}
    keep_eth, keep_ip, keep_tcp = shape_filter(3), shape_filter(3), shape_filter(2)
    for source, path in captures(testdata):
        for linktype, frame in read_pcap(path):
            if linktype == LINKTYPE_ETHERNET and len(frame) >= 14:
                if keep_eth(frame[12:14]):
                    c['wire_eth'].add(source, frame[:64])
                if frame[12:14] == b'\x08\x06':
                    c['wire_arp'].add(source, frame[14:])
            ip = ipv4_of(linktype, frame)
            if ip is None:
                continue
            if keep_ip((ip[0], ip[9], ip[6] & 0x3f != 0 or ip[7] != 0)):
                c['wire_ipv4'].add(source, ip[:64])
            l4 = l4_of(ip)
            if l4 is None:
                continue
            proto, seg = l4
            if proto == 1:
                c['wire_icmp'].add(source, seg[:256])
            elif proto == 17:
                c['wire_udp'].add(source, seg[:512])
            elif proto == 6 and keep_tcp(tcp_shape(seg)):
                c['wire_tcp'].add(source, seg[:128])
    return c


# ---------------------------------------------------------- configuration ----
def man_sections(manpage):
    """(section, key, default or None) for every key the manual documents."""
    section = None
    lines = open(manpage).read().split('\n')
    out = []
    for i, line in enumerate(lines):
        m = re.match(r'\.SH "SECTION (\S+)"', line)
        if m:
            section = m.group(1)
            continue
        if line.startswith('.SH'):
            section = None
        if section and line == '.TP' and i + 1 < len(lines) and lines[i + 1].startswith('.B '):
            key = lines[i + 1][3:].strip()
            if not re.match(r'^[a-z_][a-z0-9_.]*$', key):
                continue
            text = ' '.join(lines[i + 2:i + 12])
            d = re.search(r'Default (\S+?)[.;,]?(?:\s|$)', text)
            out.append((section, key, d.group(1) if d else None))
    return out


def yaml_doc(section, items):
    """A YAML document setting dotted keys (a.b: v) under section."""
    tree = {}
    for key, value in items:
        node = tree
        parts = key.split('.')
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
    lines = [section + ':']

    def emit(node, indent):
        for k, v in node.items():
            if isinstance(v, dict):
                lines.append(' ' * indent + k + ':')
                emit(v, indent + 2)
            else:
                lines.append(' ' * indent + '%s: %s' % (k, v))
    emit(tree, 2)
    return ('\n'.join(lines) + '\n').encode()


def c_string_blocks(path):
    """YAML documents written as adjacent C string literals in a test source."""
    src = open(path).read()
    for m in re.finditer(r'((?:"(?:[^"\\\n]|\\.)*"\s*){2,})', src):
        parts = re.findall(r'"((?:[^"\\\n]|\\.)*)"', m.group(1))
        text = ''.join(parts)
        if ':\\n' in text or ': ' in text:
            try:
                yield text.encode().decode('unicode_escape').encode('latin-1')
            except (UnicodeDecodeError, UnicodeEncodeError):
                continue


def make_config(root, max_bytes):
    c = Corpus(root, 'config', max_bytes)
    manpage = os.path.join(SRCDIR, 'doc', 'man5', 'margay-config.5')
    keys = man_sections(manpage)
    by_section = {}
    for section, key, default in keys:
        value = default if default is not None else '""'
        by_section.setdefault(section, []).append((key, value))
    for section, items in sorted(by_section.items()):
        c.add('man-' + section, yaml_doc(section, items))
        for key, value in items:
            c.add('man-' + section, yaml_doc(section, [(key, value)]))
    tests = os.path.join(SRCDIR, 'tests', 'unit', 'test_config.c')
    if os.path.exists(tests):
        for doc in c_string_blocks(tests):
            c.add('test_config', doc)
    return c


# ------------------------------------------------------------------- main ----
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', default=os.path.join(HERE, 'corpus'))
    ap.add_argument('--max-bytes', type=int, default=48 * 1024, help='bound per target (bytes)')
    ap.add_argument('--testdata', default=os.environ.get('MARGAY_TESTDATA') or
                    next((d for d in (os.path.join(SRCDIR, '..', 'shared', 'testdata'),
                                      os.path.join(SRCDIR, 'shared', 'testdata')) if os.path.isdir(d)),
                         os.path.join(SRCDIR, '..', 'shared', 'testdata')))
    args = ap.parse_args()
    corpora = list(make_wire(args.out, args.testdata, args.max_bytes).values())
    corpora.append(make_config(args.out, args.max_bytes))
    for extra in EXTRA_TARGETS:
        corpora.append(extra(args.out, args.testdata, args.max_bytes))
    for c in corpora:
        print('%-12s %4d seeds %7d bytes  %s' % (os.path.basename(c.dir), c.count, c.bytes, c.dir))


EXTRA_TARGETS = []

if __name__ == '__main__':
    main()
