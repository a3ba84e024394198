#!/usr/bin/env python3
"""Write a MAAS curtin network v1 config with N links to stdout.

Usage: benches/gen_config.py N

The shape is what MAAS sends for an ESXi deployment (see
fixtures/network/v1-bond-lacp-vlan.yaml), serialized the way PyYAML's
safe_dump(default_flow_style=False) does it: keys sorted, sequences not
indented under their key. The text is built with plain string formatting so
that no YAML library is needed to generate it.

The N links come in groups: two physical NICs (bond members, `manual`), one
bond over them with a static address, and VLANs on the bond, each with a static
address. Bond modes alternate between 802.3ad and active-backup. VLAN ids are
distinct within a bond and repeat across bonds. MACs are unique per NIC (a bond
takes its first member's MAC, as MAAS does). The first bond holds the only IPv4
gateway and the node's DNS; a nameserver entry closes the list.
"""

import sys

# Links per group: 2 NICs + 1 bond + VLANS_PER_BOND VLANs (the last groups
# absorb the remainder when N is not a multiple of the group size).
VLANS_PER_BOND = 7
GROUP = 3 + VLANS_PER_BOND
FIRST_VLAN_ID = 100
MAX_VLAN_ID = 4094
DNS_SERVERS = ("10.0.0.2", "10.0.0.53")
DNS_SEARCH = ("maas",)


def vlan_counts(n):
    """How many VLANs each bond gets so that the total is exactly n links."""
    if n < 3:
        sys.exit("gen_config.py: N must be at least 3 (two NICs and a bond)")
    groups = max(1, n // GROUP)
    vlans = n - 3 * groups
    base, extra = divmod(vlans, groups)
    counts = [base + (1 if g < extra else 0) for g in range(groups)]
    if counts[0] > MAX_VLAN_ID - FIRST_VLAN_ID + 1:
        sys.exit("gen_config.py: too many VLANs per bond")
    return counts


def mac(group, port):
    return "3c:fd:fe:%02x:%02x:%02x" % (group >> 8 & 0xFF, group & 0xFF, 0xC0 + port)


def nic(lines, name, mac_address):
    lines += [
        "  - id: %s" % name,
        "    mac_address: %s" % mac_address,
        "    mtu: 1500",
        "    name: %s" % name,
        "    subnets:",
        "    - type: manual",
        "    type: physical",
    ]


def bond_params(lines, group):
    if group % 2 == 0:
        lines += [
            "    params:",
            "      bond-downdelay: 0",
            "      bond-lacp-rate: fast",
            "      bond-miimon: 100",
            "      bond-mode: 802.3ad",
            "      bond-updelay: 0",
            "      bond-xmit-hash-policy: layer3+4",
        ]
    else:
        lines += [
            "    params:",
            "      bond-downdelay: 0",
            "      bond-miimon: 100",
            "      bond-mode: active-backup",
            "      bond-num-grat-arp: 1",
            "      bond-updelay: 0",
            "      bond-xmit-hash-policy: layer2",
        ]


def static_subnet(lines, address, with_gateway):
    lines.append("    - address: %s" % address)
    if with_gateway:
        lines.append("      dns_nameservers:")
        lines += ["      - %s" % server for server in DNS_SERVERS]
        lines.append("      dns_search:")
        lines += ["      - %s" % domain for domain in DNS_SEARCH]
        network = address.rsplit(".", 1)[0]
        lines.append("      gateway: %s.1" % network)
    lines.append("      type: static")


def render(n):
    lines = ["network:", "  config:"]
    vlan_subnet = 0
    for group, vlans in enumerate(vlan_counts(n)):
        ports = ["enp%ds0f0" % (group + 1), "enp%ds0f1" % (group + 1)]
        for port, name in enumerate(ports):
            nic(lines, name, mac(group, port))

        bond = "bond%d" % group
        lines.append("  - bond_interfaces:")
        lines += ["    - %s" % port for port in ports]
        lines += [
            "    id: %s" % bond,
            "    mac_address: %s" % mac(group, 0),
            "    mtu: 1500",
            "    name: %s" % bond,
        ]
        bond_params(lines, group)
        lines.append("    subnets:")
        bond_address = "10.%d.%d.21/24" % (group >> 8 & 0xFF, group & 0xFF)
        static_subnet(lines, bond_address, with_gateway=group == 0)
        lines.append("    type: bond")

        for v in range(vlans):
            if vlan_subnet >= 16 * 256:
                sys.exit("gen_config.py: out of 172.16.0.0/12 subnets for VLANs")
            vid = FIRST_VLAN_ID + v
            name = "%s.%d" % (bond, vid)
            address = "172.%d.%d.21/24" % (16 + (vlan_subnet >> 8 & 0x0F), vlan_subnet & 0xFF)
            vlan_subnet += 1
            lines += [
                "  - id: %s" % name,
                "    mtu: 1500",
                "    name: %s" % name,
                "    subnets:",
            ]
            static_subnet(lines, address, with_gateway=False)
            lines += [
                "    type: vlan",
                "    vlan_id: %d" % vid,
                "    vlan_link: %s" % bond,
            ]

    lines.append("  - address:")
    lines += ["    - %s" % server for server in DNS_SERVERS]
    lines.append("    search:")
    lines += ["    - %s" % domain for domain in DNS_SEARCH]
    lines += [
        "    type: nameserver",
        "  version: 1",
        "network_commands:",
        "  builtin:",
        "  - curtin",
        "  - net-meta",
        "  - custom",
    ]
    return "\n".join(lines) + "\n"


def main(argv):
    if len(argv) != 2 or not argv[1].isdigit():
        sys.exit("usage: gen_config.py N   (N = number of links, at least 3)")
    sys.stdout.write(render(int(argv[1])))


if __name__ == "__main__":
    main(sys.argv)
