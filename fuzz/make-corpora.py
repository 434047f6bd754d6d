#!/usr/bin/env python3
"""fuzz/make-corpora.py - generates the fuzz targets' seed corpora.

Seeds are never written by hand: they come from the real captures in
$MARGAY_TESTDATA/pcap (default ../shared/testdata beside the repository), from
simulator runs (`margay sim --pcap` on small scenarios with loss, reordering,
duplication and a refused connection, so retransmissions, duplicate ACKs, window
updates, FIN and RST appear), from the configuration manual page and the
configuration tests. The whole-stack and state-machine targets get the TCP
conversations of those captures re-addressed to the harness's connection; the
capture-reader target gets the captures themselves cut to their first frames, and
their packets re-encoded in every link type the reader converts. Everything is
deterministic: the same captures and the same margay give the same files.

  fuzz/make-corpora.py [--out DIR] [--max-bytes N] [--margay PATH | --no-sim]

--out defaults to fuzz/corpus (the committed seeds). Each target gets DIR/<target>/,
emptied first. Files are named <source>-<n> so a seed says where it came from.
--margay is the margay program for the simulator runs (default: $MARGAY, else a
build directory of this tree, else PATH); --no-sim leaves those seeds out.
"""
import argparse
import glob
import hashlib
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.path.dirname(HERE)

LINKTYPE_NULL, LINKTYPE_ETHERNET, LINKTYPE_RAW = 0, 1, 101


# ---------------------------------------------------------------- captures ----
def read_pcap(path, with_time=False):
    """Yields (linktype, frame bytes), or (linktype, frame, seconds) with with_time,
    from a classic pcap file (either byte order)."""
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
        sec, frac, caplen = struct.unpack(endian + 'III', data[off:off + 12])
        off += 16
        if off + caplen > len(data):
            break
        frame = data[off:off + caplen]
        yield (linktype, frame, sec + frac / 1e6) if with_time else (linktype, frame)
        off += caplen


def pcapng_blocks(data):
    """Yields (endian, block type, body) for every block of a pcapng file."""
    off, endian = 0, '<'
    while off + 12 <= len(data):
        if data[off:off + 4] == b'\x0a\x0d\x0d\x0a':  # section header: its own byte order
            endian = '<' if data[off + 8:off + 12] == b'\x4d\x3c\x2b\x1a' else '>'
        btype, blen = struct.unpack(endian + 'II', data[off:off + 8])
        if blen < 12 or off + blen > len(data):
            return
        yield endian, btype, data[off + 8:off + blen - 4]
        off += blen


def read_pcapng(path):
    """Yields (linktype, frame, seconds) from the enhanced packet blocks of a pcapng file."""
    with open(path, 'rb') as f:
        data = f.read()
    ifaces = []
    for endian, btype, body in pcapng_blocks(data):
        if btype == 0x0a0d0d0a:
            ifaces = []
        elif btype == 1 and len(body) >= 8:  # interface description
            linktype = struct.unpack(endian + 'H', body[:2])[0]
            unit, o = 1e-6, 8
            while o + 4 <= len(body):
                code, olen = struct.unpack(endian + 'HH', body[o:o + 4])
                if code == 0:
                    break
                if code == 9 and olen >= 1:  # if_tsresol
                    v = body[o + 4]
                    unit = 2.0 ** -(v & 0x7f) if v & 0x80 else 10.0 ** -v
                o += 4 + ((olen + 3) & ~3)
            ifaces.append((linktype, unit))
        elif btype == 6 and len(body) >= 20:  # enhanced packet
            iface, hi, lo, caplen = struct.unpack(endian + 'IIII', body[:16])
            linktype, unit = ifaces[iface] if iface < len(ifaces) else (LINKTYPE_ETHERNET, 1e-6)
            yield linktype, body[20:20 + caplen], ((hi << 32) | lo) * unit


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


# --------------------------------------------------------------- simulator ----
# Small scenarios, a few seeds each, with the faults that make TCP work: loss and
# reordering (retransmissions, duplicate ACKs, SACK), duplication, corruption (bad
# checksums), a refused connection (RST), UDP request/response. A run that fails (the
# refused one does on purpose) still leaves its capture.
SIM_RUNS = [
    ('xfer', ['--daemon', '0:xfer --server 10.0.0.1 80 --conns 2',
              '--proc', '1:xfer --client 10.0.0.1 80 --conns 2 --min 1000 --max 24000 --seed 5',
              '--loss', '0.08', '--reorder', '0.1', '--duplicate', '0.03'], (1, 2, 3)),
    ('echo', ['--daemon', '0:tcp-echo --server 10.0.0.1 7 --nclients 2',
              '--proc', '1:tcp-echo --client 10.0.0.1 7 --nclients 2 --nrequests 4',
              '--loss', '0.05', '--corrupt', '0.03', '--jitter', '300us'], (1, 2)),
    ('refused', ['--proc', '1:tcp-ping-pong --client 10.0.0.1 81'], (1,)),
    ('udp', ['--daemon', '0:udp-ping-pong --server 10.0.0.1 53',
             '--proc', '1:udp-ping-pong --client 10.0.0.1 53 64 8 --timeout 5', '--loss', '0.05'], (1, 2)),
]


def find_margay(explicit):
    """The margay program for simulator runs, or None."""
    cands = [explicit, os.environ.get('MARGAY')] if explicit or os.environ.get('MARGAY') else []
    cands += sorted(glob.glob(os.path.join(SRCDIR, 'build*', 'margay'))) + [os.path.join(SRCDIR, 'margay')]
    cands.append(shutil.which('margay'))
    for c in cands:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    return None


def run_simulations(margay):
    """[(source, file bytes, packets, first file of its run)] from every SIM_RUNS run.
    Captures are found by globbing the run's own directory (their names are the
    simulator's business: one per host, or one per link)."""
    out = []
    with tempfile.TemporaryDirectory(prefix='margay-corpora-') as tmp:
        for name, args, seeds in SIM_RUNS:
            for seed in seeds:
                d = os.path.join(tmp, '%s-%d' % (name, seed))
                os.makedirs(d)
                cmd = [margay, 'sim'] + args + ['--seed', str(seed), '--quiet', '--pcap', os.path.join(d, 'run')]
                subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
                files = sorted(glob.glob(os.path.join(d, '*.pcapng')))
                if not files:
                    sys.exit('make-corpora: `%s` wrote no capture' % ' '.join(cmd))
                for i, path in enumerate(files):
                    with open(path, 'rb') as f:
                        data = f.read()
                    source = 'sim-%s-s%d' % (name, seed) + ('-%d' % i if i else '')
                    out.append((source, data, list(read_pcapng(path)), i == 0))
    return out


class Sources:
    """The captures seeds come from: the shared ones and the simulator's."""

    def __init__(self, testdata, margay):
        self.shared = []
        for source, path in captures(testdata):
            with open(path, 'rb') as f:
                data = f.read()
            self.shared.append((source, data, list(read_pcap(path, with_time=True))))
        self.sim = run_simulations(margay) if margay else []

    def all(self):
        """(source, [(linktype, frame, seconds)]) for every capture."""
        for source, _, pkts in self.shared:
            yield source, pkts
        for source, _, pkts, _ in self.sim:
            yield source, pkts

    def files(self):
        """(source, file bytes) for every capture."""
        for source, data, _ in self.shared:
            yield source, data
        for source, data, _, _ in self.sim:
            yield source, data


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
def make_wire(root, src, max_bytes):
    c = {t: Corpus(root, t, max_bytes) for t in
         ('wire_eth', 'wire_arp', 'wire_ipv4', 'wire_icmp', 'wire_udp', 'wire_tcp')}
    keep_eth, keep_ip, keep_tcp = shape_filter(3), shape_filter(3), shape_filter(2)
    for source, pkts in src.all():
        for linktype, frame, _ in pkts:
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
    ap.add_argument('--margay', help='the margay program for the simulator runs')
    ap.add_argument('--no-sim', action='store_true', help='no seeds from simulator runs')
    args = ap.parse_args()
    margay = None
    if not args.no_sim:
        margay = find_margay(args.margay)
        if margay is None:
            sys.exit('make-corpora: no margay program for the simulator runs: build it, pass --margay PATH, '
                     'or leave those seeds out with --no-sim')
    src = Sources(args.testdata, margay)
    corpora = list(make_wire(args.out, src, args.max_bytes).values())
    corpora.append(make_config(args.out, args.max_bytes))
    for extra in EXTRA_TARGETS:
        corpora.append(extra(args.out, src, args.max_bytes))
    for c in corpora:
        print('%-12s %4d seeds %7d bytes  %s' % (os.path.basename(c.dir), c.count, c.bytes, c.dir))
    print('%-12s %4d seeds %7d bytes' % ('total', sum(c.count for c in corpora), sum(c.bytes for c in corpora)))
    if margay:
        print('simulator runs: %d captures, with %s' % (len(src.sim), margay))


# ------------------------------------------------ whole stack and TCP SM ----
# Must match fuzz/stack.c and fuzz/tcp_sm.c.
CTL_ADDR, CTL_CKSUM, CTL_REL, CTL_READ, CTL_SEND, CTL_CLOSE, CTL_ACTIVE = 1, 2, 4, 8, 16, 32, 64
(OP_CONNECT, OP_PEER_SYN, OP_ACCEPT, OP_SEGMENT, OP_SEND, OP_RECV, OP_CLOSE, OP_ABORT, OP_ADVANCE,
 OP_SOCKOPT, OP_ICMP, OP_PEER_ACK, OP_DUPACKS, OP_API) = range(14)
STACK_PORT, HARNESS_PEER_PORT, STACK_UDP_PORT = 80, 40000, 53
FH_LOCAL_IP = bytes([10, 0, 0, 1])
SYN, ACK, FIN, RST = 0x02, 0x10, 0x01, 0x04


def tcp_fields(seg):
    sport, dport, seq, ack, off, flags, win = struct.unpack('>HHIIBBH', seg[:16])
    return sport, dport, seq, ack, (off >> 4) * 4, flags, win


def annotate(pkts):
    """[(time, linktype, frame, ip, proto, l4)] of a capture's packets."""
    out = []
    for linktype, frame, t in pkts:
        ip = ipv4_of(linktype, frame)
        l4 = l4_of(ip) if ip is not None else None
        out.append((t, linktype, frame, ip, l4[0] if l4 else None, l4[1] if l4 else None))
    return out


def by_connection(pkts, limit=3):
    """One packet list per TCP connection of an annotated capture (at most `limit`);
    the packets of no connection (ARP, UDP, ICMP) go with the first."""
    conns, order, other = {}, [], []
    for p in pkts:
        ip, proto, l4 = p[3], p[4], p[5]
        if proto == 6 and l4 is not None and len(l4) >= 4:
            sport, dport = struct.unpack('>HH', l4[:4])
            key = frozenset([(ip[12:16], sport), (ip[16:20], dport)])
            if key not in conns:
                conns[key] = []
                order.append(key)
            conns[key].append(p)
        else:
            other.append(p)
    if not order:
        return [other] if other else []
    lists = [conns[k] for k in order[:limit]]
    lists[0] = sorted(lists[0] + other, key=lambda p: p[0])
    return lists


def conversations(src):
    """Per conversation: (source, [(time, linktype, frame, ip, proto, l4)]). A shared
    capture is one; the first capture of each simulator run gives one per connection."""
    for source, _, pkts in src.shared:
        yield source, annotate(pkts)
    for source, _, pkts, first in src.sim:
        if first:
            for i, conn in enumerate(by_connection(annotate(pkts))):
                yield source + '-c%d' % i, conn


def eth_frame(ip):
    return b'\0' * 12 + b'\x08\x00' + ip


def stack_records(pkts):
    """Re-addresses a capture's packets as peer -> stack records for fuzz/stack.c: the
    TCP client's segments become segments on the harness's established connection,
    with seq/ack relative to what each side had sent so far in the capture."""
    out = bytearray()
    client = None
    hi = {}  # endpoint -> highest seq + len sent so far
    last_t = None
    for n, (t, linktype, frame, ip, proto, l4) in enumerate(pkts):
        if ip is None:
            if linktype == LINKTYPE_ETHERNET and frame[12:14] == b'\x08\x06' and len(frame) >= 42:
                arp = bytearray(frame)
                arp[38:42] = FH_LOCAL_IP  # ask for (or answer about) the stack's address
                rec = bytes(arp)
            else:
                continue
            ctl = CTL_ADDR
        elif proto == 6 and l4 is not None and len(l4) >= 20:
            sport, dport, seq, ack, hl, flags, win = tcp_fields(l4)
            if client is None:
                client = (ip[12:16], sport) if flags & SYN and not flags & ACK else (ip[16:20], dport)
            me = (ip[12:16], sport)
            plen = max(0, len(l4) - hl)
            end = (seq + plen + (1 if flags & (SYN | FIN) else 0)) & 0xffffffff
            if me != client:
                hi[me] = end  # the server's data: the stack plays that part itself
                continue
            if flags & SYN:
                hi[me] = end
                continue      # the harness already did the handshake
            other = (ip[16:20], dport)
            rel_seq = (seq - hi.get(me, seq)) & 0xffffffff
            rel_ack = (ack - hi.get(other, ack)) & 0xffffffff
            if (end - hi.get(me, end)) & 0x80000000 == 0:
                hi[me] = end
            seg = bytearray(l4[:hl + min(plen, 1400)])
            seg[4:8] = struct.pack('>I', rel_seq)
            seg[8:12] = struct.pack('>I', rel_ack)
            ipb = bytearray(ip[:(ip[0] & 15) * 4])
            ipb[2:4] = struct.pack('>H', len(ipb) + len(seg))
            rec = eth_frame(bytes(ipb) + bytes(seg))
            ctl = CTL_ADDR | CTL_CKSUM | CTL_REL | (CTL_READ if n % 3 == 0 else 0) | (CTL_SEND if n % 5 == 0 else 0)
        else:
            ipb = bytearray(ip[:min(len(ip), 600)])
            if proto == 17 and len(ipb) >= (ipb[0] & 15) * 4 + 4:
                o = (ipb[0] & 15) * 4
                ipb[o + 2:o + 4] = struct.pack('>H', STACK_UDP_PORT)
            rec = eth_frame(bytes(ipb))
            ctl = CTL_ADDR | CTL_CKSUM | CTL_READ
        dt = 0 if last_t is None else max(0, min(65535, int((t - last_t) * 1000)))
        last_t = t
        out += struct.pack('>BHH', ctl, dt, len(rec)) + rec
        if len(out) > 6000:
            break
    return bytes(out)


def tcp_opts_selector(seg, hl):
    """tcp_sm's option selector and bytes for a segment's options."""
    sel, extra = 0, bytearray()
    i = 20
    kinds = {}
    while i < hl and i < len(seg):
        k = seg[i]
        if k == 0:
            break
        if k == 1:
            i += 1
            continue
        if i + 1 >= len(seg) or seg[i + 1] < 2:
            break
        kinds[k] = seg[i + 2:i + seg[i + 1]]
        i += seg[i + 1]
    if 2 in kinds and len(kinds[2]) == 2:
        sel |= 1
        extra.append(min(255, struct.unpack('>H', kinds[2])[0] // 8))
    if 3 in kinds and len(kinds[3]) == 1:
        sel |= 2
        extra.append(kinds[3][0])
    if 4 in kinds:
        sel |= 4
    if 8 in kinds:
        sel |= 8
        extra.append(1)
    if 5 in kinds:
        n = min(4, len(kinds[5]) // 8)
        sel |= n << 4
        extra += bytes([4, 8] * n)
    return bytes([sel]) + bytes(extra)


def sm_program(pkts):
    """A tcp_sm program replaying a capture's TCP conversation with the stack as the
    server: the client's SYN and segments come from the peer, the server's data is
    sent by the application, gaps in time become clock advances."""
    prog = bytearray()
    client, hi, last_t, slot = None, {}, None, 0
    for t, linktype, frame, ip, proto, l4 in pkts:
        if proto != 6 or l4 is None or len(l4) < 20:
            continue
        sport, dport, seq, ack, hl, flags, win = tcp_fields(l4)
        if client is None:
            client = (ip[12:16], sport) if flags & SYN and not flags & ACK else (ip[16:20], dport)
        if last_t is not None and t - last_t > 0.001:
            ms = int((t - last_t) * 1000)
            prog += bytes([OP_ADVANCE, 0, min(16, max(0, ms.bit_length() - 1))])
        last_t = t
        me = (ip[12:16], sport)
        plen = max(0, len(l4) - hl)
        end = (seq + plen + (1 if flags & (SYN | FIN) else 0)) & 0xffffffff
        if me != client:
            hi[me] = end
            if plen:
                prog += bytes([OP_SEND, slot, min(255, plen // 64)])
            elif flags & FIN:
                prog += bytes([OP_CLOSE, slot])
            continue
        if flags & SYN and not flags & ACK:
            hi[me] = end
            prog += bytes([OP_PEER_SYN, slot, seq >> 24]) + tcp_opts_selector(l4, hl) + struct.pack('>H', win)
            continue
        exp = hi.get(me, seq)
        d = (seq - exp) & 0xffffffff
        if d == 0:
            seqmode = bytes([0])
        elif d < 0x80000000:
            seqmode = bytes([1, min(255, d // 16)])
        else:
            seqmode = bytes([2, min(255, ((-d) & 0xffffffff) // 16)])
        if (end - exp) & 0x80000000 == 0:
            hi[me] = end
        back = (hi.get((ip[16:20], dport), ack) - ack) & 0xffffffff
        ackmode = bytes([0]) if back == 0 or back > 0x80000000 else bytes([1, min(255, back // 16)])
        prog += bytes([OP_SEGMENT, slot, seqmode[0], ackmode[0]]) + seqmode[1:] + ackmode[1:] + \
            bytes([flags]) + struct.pack('>H', win) + tcp_opts_selector(l4, hl) + bytes([min(255, plen // 6)])
        prog += bytes([OP_ACCEPT, 0, OP_RECV, slot])
        if len(prog) > 4000:
            break
    return bytes(prog)


FH_PEER_IP = bytes([10, 0, 0, 2])


def inet_sum(data):
    """RFC 1071: the one's-complement sum of data, folded and complemented."""
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('>%dH' % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def ipv4_fragment(proto, ident, off, payload, more, ttl=64):
    """An IPv4 fragment from the harness's peer to the stack (offset in bytes)."""
    frag = (off // 8) | (0x2000 if more else 0)
    hdr = bytearray(struct.pack('>BBHHHBBH4s4s', 0x45, 0, 20 + len(payload), ident, frag, ttl, proto, 0,
                                FH_PEER_IP, FH_LOCAL_IP))
    hdr[10:12] = struct.pack('>H', inet_sum(bytes(hdr)))
    return bytes(hdr) + payload


def udp_datagram(sport, dport, payload):
    """A UDP header and payload from the peer to the stack, checksum filled."""
    length = 8 + len(payload)
    pseudo = FH_PEER_IP + FH_LOCAL_IP + struct.pack('>BBH', 0, 17, length)
    hdr = struct.pack('>HHHH', sport, dport, length, 0)
    c = inet_sum(pseudo + hdr + payload) or 0xffff
    return struct.pack('>HHHH', sport, dport, length, c) + payload


def icmp_echo(ident, seq, payload):
    msg = struct.pack('>BBHHH', 8, 0, 0, ident, seq) + payload
    return msg[:2] + struct.pack('>H', inet_sum(msg)) + msg[4:]


def fragments(proto, ident, l4, step=1480, order=None):
    """The fragments of one datagram, in `order` (indices) or in order."""
    pieces = [(off, l4[off:off + step]) for off in range(0, len(l4), step)]
    idx = order if order is not None else range(len(pieces))
    return [ipv4_fragment(proto, ident, pieces[i][0], pieces[i][1], pieces[i][0] + step < len(l4)) for i in idx]


def records(ips, ms=1):
    """fuzz/stack.c records: each IPv4 packet in an Ethernet frame, addresses and IPv4
    checksum fixed by the harness (the UDP/ICMP checksums over the whole datagram are
    already right)."""
    out = bytearray()
    for ip in ips:
        frame = eth_frame(ip)
        out += struct.pack('>BHH', CTL_ADDR | CTL_CKSUM, ms, len(frame)) + frame
    return bytes(out)


def fragment_seeds():
    """Seeds that reach IPv4 reassembly (src/inet/ipv4_reass.c) and fragmentation:
    [(name, data)]. UDP to the harness's socket on port 53, ICMP echo, TCP."""
    pay = bytes((i * 7 + (i >> 8)) & 0xff for i in range(20000))
    udp3k = udp_datagram(5353, STACK_UDP_PORT, pay[:3000])
    udp20k = udp_datagram(5353, STACK_UDP_PORT, pay[:20000])
    ping = icmp_echo(0x4242, 1, pay[:3000])
    f = fragments(17, 0x100, udp3k)
    seeds = [
        ('frag-udp-in-order', records(f)),
        ('frag-udp-reverse', records(fragments(17, 0x101, udp3k, order=[2, 1, 0]))),
        ('frag-udp-duplicate', records([f[0], f[0], f[1], f[1], f[2]])),
        ('frag-udp-overlap', records([f[0], ipv4_fragment(17, 0x100, 1472, udp3k[1472:2952], True), f[1], f[2]])),
        # No frame, 31 s later: the reassembly timer fires (ICMP time exceeded).
        ('frag-udp-timeout', records([f[0], f[1]]) + struct.pack('>BHH', 0, 31000, 0)),
        ('frag-udp-20k', records(fragments(17, 0x102, udp20k, order=[13, 0] + list(range(1, 13))))),
        ('frag-icmp-echo-3k', records(fragments(1, 0x103, ping))),
        ('frag-tcp-segment', records(fragments(6, 0x104, b'\x9c\x40\x00\x50' + bytes(16) + pay[:2000]))),
        ('frag-malformed', records([
            ipv4_fragment(17, 0x105, 0, b'', True),                 # empty, not last
            ipv4_fragment(17, 0x106, 0, udp3k[:100], True),         # not a multiple of 8
            ipv4_fragment(17, 0x107, 0, udp3k[:1480], True),
            ipv4_fragment(17, 0x107, 8189 * 8, udp3k[:40], False),  # past 65535
            ipv4_fragment(17, 0x108, 1480, udp3k[:100], False),
            ipv4_fragment(17, 0x108, 1480, udp3k[:200], False),     # two ends
        ])),
    ]
    return seeds


def make_stack(root, src, max_bytes):
    c = Corpus(root, 'stack', max_bytes * 4)
    for name, data in fragment_seeds():
        c.add(name, data)
    for source, pkts in conversations(src):
        rec = stack_records(pkts)
        if rec:
            c.add(source, rec)
    return c


def make_tcp_sm(root, src, max_bytes):
    c = Corpus(root, 'tcp_sm', max_bytes * 2)
    for source, pkts in conversations(src):
        prog = sm_program(pkts)
        if prog:
            c.add(source, prog)
    # Seeded random programs that also exercise the active-open side.
    rnd = random.Random(7)
    for i in range(12):
        prog = bytearray([OP_CONNECT, 0, i % 4, OP_PEER_ACK, 0, 0])
        for _ in range(60):
            op = rnd.choice([OP_SEGMENT, OP_SEND, OP_RECV, OP_ADVANCE, OP_PEER_ACK, OP_PEER_ACK,
                             OP_SOCKOPT, OP_ICMP, OP_CLOSE, OP_PEER_SYN, OP_ACCEPT, OP_CONNECT,
                             OP_DUPACKS, OP_API])
            prog += bytes([op, rnd.randrange(6) if rnd.random() < 0.3 else 0])
            prog += bytes(rnd.randrange(256) for _ in range(rnd.randrange(2, 12)))
        c.add('random', bytes(prog))
    return c


# ---------------------------------------------------------- capture reader ----
# Must match fuzz/pcap_reader.c: the first byte is even for a capture file, odd for one
# packet whose link type is LINK_TYPES[byte >> 1].
LINK_TYPES = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 147]
CAP_RECORDS, CAP_SNAP = 4, 256  # a capture seed keeps its first records, cut to this


def pcap_file(linktype, records, endian='<', nano=False):
    """A classic pcap file: records are (seconds, frame, original length)."""
    magic = 0xa1b23c4d if nano else 0xa1b2c3d4
    out = bytearray(struct.pack(endian + 'IHHiIII', magic, 2, 4, 0, 0, 65535, linktype))
    for t, frame, orig in records:
        sec = int(t)
        frac = int(round((t - sec) * (1e9 if nano else 1e6)))
        out += struct.pack(endian + 'IIII', sec, frac, len(frame), orig) + frame
    return bytes(out)


def cut_pcap(data):
    """A classic pcap file cut to its first records, each to CAP_SNAP bytes."""
    if len(data) < 24:
        return None
    endian = '<' if data[:4] in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1') else '>'
    out, off = bytearray(data[:24]), 24
    for _ in range(CAP_RECORDS):
        if off + 16 > len(data):
            break
        sec, frac, caplen, orig = struct.unpack(endian + 'IIII', data[off:off + 16])
        frame = data[off + 16:off + 16 + caplen][:CAP_SNAP]
        out += struct.pack(endian + 'IIII', sec, frac, len(frame), orig) + frame
        off += 16 + caplen
    return bytes(out)


def cut_pcapng(data):
    """A pcapng file cut to its section and interface blocks and first packets, each
    packet to CAP_SNAP bytes (options dropped)."""
    out, packets = bytearray(), 0
    for endian, btype, body in pcapng_blocks(data):
        if btype == 6:
            if packets == CAP_RECORDS:
                continue
            packets += 1
            iface, hi, lo, caplen, orig = struct.unpack(endian + 'IIIII', body[:20])
            frame = body[20:20 + caplen][:CAP_SNAP]
            body = struct.pack(endian + 'IIIII', iface, hi, lo, len(frame), orig) + frame
            body += b'\0' * (-len(body) % 4)
        elif btype not in (0x0a0d0d0a, 1):
            continue
        blen = len(body) + 12
        out += struct.pack(endian + 'II', btype, blen) + body + struct.pack(endian + 'I', blen)
    return bytes(out)


def encode_link(linktype, frame):
    """An Ethernet frame as a packet of another link type (None if it has no such form)."""
    if len(frame) < 14:
        return None
    etype, l3 = struct.unpack('>H', frame[12:14])[0], frame[14:]
    v = l3[0] >> 4 if l3 else 0
    ip = etype in (0x0800, 0x86dd)
    if linktype in (1, 147):
        return frame
    if linktype == 0 and ip:
        return struct.pack('<I', 2 if v == 4 else 10) + l3  # the recorder's byte order
    if linktype == 108 and ip:
        return struct.pack('>I', 2 if v == 4 else 24) + l3
    if linktype in (12, 14, 101) and ip:
        return l3
    if linktype == 228 and etype == 0x0800:
        return l3
    if linktype == 229 and etype == 0x86dd:
        return l3
    if linktype == 113:  # pkttype, ARPHRD_ETHER, address length, address (8), protocol
        return struct.pack('>HHH', 0, 1, 6) + frame[6:12] + b'\0\0' + frame[12:14] + l3
    if linktype == 276:  # protocol, reserved, ifindex, ARPHRD_ETHER, pkttype, length, address
        return frame[12:14] + struct.pack('>HIHBB', 0, 1, 1, 4, 6) + frame[6:12] + b'\0\0' + l3
    return None


def make_pcap_reader(root, src, max_bytes):
    c = Corpus(root, 'pcap_reader', max_bytes * 2)
    # The captures themselves, cut to their first frames.
    for source, data in src.files():
        cut = cut_pcapng(data) if data[:4] == b'\x0a\x0d\x0d\x0a' else cut_pcap(data)
        if cut:
            c.add(source, b'\0' + cut)
    # Frames of every kind (IPv4, IPv6, ARP; short and long), in every link type.
    frames, kinds = [], set()
    for _, pkts in src.all():
        for linktype, frame, t in pkts:
            if linktype != LINKTYPE_ETHERNET or len(frame) < 15:
                continue
            kind = (frame[12:14], len(frame) > 200)
            if kind not in kinds:
                kinds.add(kind)
                frames.append((t, frame[:CAP_SNAP], len(frame)))
    for i, lt in enumerate(LINK_TYPES):
        recs = [(t, encode_link(lt, f), n - len(f) + len(encode_link(lt, f)))
                for t, f, n in frames if encode_link(lt, f) is not None]
        if recs:
            c.add('link%d' % lt, b'\0' + pcap_file(lt, recs[:CAP_RECORDS * 2]))
        for t, f, n in frames[:4]:
            pkt = encode_link(lt, f)
            if pkt is not None:
                c.add('link%d-pkt' % lt, bytes([(i << 1) | 1]) + pkt)
    # The same records big-endian and with nanosecond timestamps, and a file cut off in
    # the middle of a record.
    if frames:
        recs = frames[:CAP_RECORDS]
        c.add('big-endian', b'\0' + pcap_file(1, recs, endian='>'))
        nano = pcap_file(1, recs, nano=True)
        c.add('nanosecond', b'\0' + nano)
        c.add('truncated', b'\0' + nano[:len(nano) - 7])
    return c


EXTRA_TARGETS = [make_stack, make_tcp_sm, make_pcap_reader]

if __name__ == '__main__':
    main()
