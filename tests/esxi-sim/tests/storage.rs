//! The simulated storage commands against hosts built from disk specs: the real outputs of the research
//! notes reproduced byte for byte, every partition and volume rule, the prompts, and the sequence a
//! first-boot script runs, in process and through the built binary under busybox sh.

use std::collections::BTreeMap;
use std::io::{BufRead, Cursor};

use esxi_sim::Sim;
use esxi_sim::host::Profile;
use esxi_sim::storage::Storage;
use esxi_sim::tool::{self, Outcome};

/// The ESXi 8.0U3 host of the research notes' "Extend VMFS partition" blog: installed on 100 GiB with
/// systemMediaSize=min, the virtual disk then grown to 150 GiB.
const BLOG_DISK: &str = "virtual,314572800s,layout=esxi7,image=100G,system=10G,bootbank=1G,boot";
const BLOG: &str = "/vmfs/devices/disks/mpx.vmhba0:C0:T0:L0";
/// The 500 GB NVMe disk of packer-maas issue #190, with the 32 GiB MAAS image written to it.
const WD_DISK: &str = "nvme,976773168s,model=WD_BLACK SN770 500GB,serial=22123A800123,rev=731030WD,eui=e8238fa6bf530001001b448b4b7d387b,layout=esxi7,image=32G,boot";
const WD: &str =
    "/vmfs/devices/disks/t10.NVMe____WD_BLACK_SN770_500GB____________________7B387D4B8B441B00";
const VMFS: &str = "AA31E02A400F11DB9590000C2911D1B8";

fn sim(disks: &[&str]) -> Sim {
    let specs: Vec<String> = disks.iter().map(|s| s.to_string()).collect();
    Sim::new(&Profile {
        major: 8,
        macs: vec!["00:0C:29:AA:BB:CC".into()],
        storage: Storage::from_specs(&specs).expect("valid disk specs"),
    })
}

fn run_with(sim: &mut Sim, line: &[&str], input: &str) -> Outcome {
    let argv: Vec<String> = line[1..].iter().map(|s| s.to_string()).collect();
    tool::run(sim, line[0], &argv, &mut Cursor::new(input.as_bytes()))
}

fn run(sim: &mut Sim, line: &[&str]) -> Outcome {
    run_with(sim, line, "")
}

/// Runs a command that must succeed and returns its stdout.
fn ok(sim: &mut Sim, line: &[&str]) -> String {
    let out = run(sim, line);
    assert_eq!(out.status, 0, "{line:?} failed: {out:?}");
    out.stdout
}

fn state(sim: &Sim) -> String {
    serde_json::to_string(&sim.host).expect("host serializes")
}

/// Runs a command that must fail with `status`, leave the host unchanged and print `message` on stderr.
fn fails_with(sim: &mut Sim, line: &[&str], input: &str, status: i32, message: &str) {
    let before = state(sim);
    let out = run_with(sim, line, input);
    assert_eq!(out.status, status, "{line:?}: {out:?}");
    assert!(
        out.stderr.contains(message),
        "{line:?}: stderr {:?} lacks {message:?}",
        out.stderr
    );
    assert_eq!(state(sim), before, "{line:?} changed the host");
}

fn fails(sim: &mut Sim, line: &[&str], message: &str) {
    let status = if line[0] == "esxcli" { 1 } else { 255 };
    fails_with(sim, line, "", status, message);
}

/// A volume's `esxcli --formatter=csv storage filesystem list` row by field name; empty when not listed.
fn volume(sim: &mut Sim, label: &str) -> BTreeMap<String, String> {
    let csv = ok(
        sim,
        &["esxcli", "--formatter=csv", "storage", "filesystem", "list"],
    );
    let mut lines = csv
        .lines()
        .map(|l| l.split(',').map(str::to_string).collect::<Vec<_>>());
    let header = lines.next().unwrap_or_default();
    lines
        .map(|row| header.iter().cloned().zip(row).collect::<BTreeMap<_, _>>())
        .find(|row| row.get("VolumeName").is_some_and(|l| l == label))
        .unwrap_or_default()
}

fn field(sim: &mut Sim, label: &str, name: &str) -> String {
    volume(sim, label).get(name).cloned().unwrap_or_default()
}

#[test]
fn getptbl_of_the_8u3_boot_disk_is_the_real_one() {
    let mut host = sim(&[BLOG_DISK]);
    let out = run(&mut host, &["partedUtil", "getptbl", BLOG]);
    assert_eq!(out.status, 0);
    assert_eq!(
        out.stdout,
        "\
gpt
19581 255 63 314572800
1 64 204863 C12A7328F81F11D2BA4B00A0C93EC93B systemPartition 128
5 208896 2306047 EBD0A0A2B9E5443387C068B6B72699C7 linuxNative 0
6 2308096 4405247 EBD0A0A2B9E5443387C068B6B72699C7 linuxNative 0
7 4407296 20971486 4EB2EA3978554790A79EFAE495E21F8D vmfsl 0
8 20973535 209715166 AA31E02A400F11DB9590000C2911D1B8 vmfs 0
"
    );
    assert!(
        out.stderr
            .contains("The backup GPT table is not at the end of the disk")
    );
    assert!(out.stderr.contains("(an extra 104857600 blocks)"));
    // The same table through the other device path.
    let other = ok(
        &mut host,
        &["partedUtil", "getptbl", "/dev/disks/mpx.vmhba0:C0:T0:L0"],
    );
    assert_eq!(other, out.stdout);
    assert_eq!(
        ok(&mut host, &["partedUtil", "get", BLOG]),
        "19581 255 63 314572800\n1 64 204863 239 128\n5 208896 2306047 131 0\n6 2308096 4405247 131 0\n7 4407296 20971486 0 0\n8 20973535 209715166 251 0\n"
    );
}

#[test]
fn datastore1_grows_with_the_real_commands_after_fixgpt() {
    let mut host = sim(&[BLOG_DISK]);
    assert_eq!(
        ok(&mut host, &["partedUtil", "getUsableSectors", BLOG]),
        "34 209715166\n",
        "the last usable sector stays the image's until fixGpt"
    );
    fails(
        &mut host,
        &["partedUtil", "resize", BLOG, "8", "20973535", "314572766"],
        "Can't have a partition outside the disk!",
    );
    let out = run_with(&mut host, &["partedUtil", "fixGpt", BLOG], "Y\nFix\n");
    assert_eq!(out.status, 0, "{out:?}");
    assert!(out.stdout.starts_with(
        "FixGpt tries to fix any problems detected in GPT table.\n\
         Please ensure that you don't run this on any RDM (Raw Device Mapping) disk.\n\
         Are you sure you want to continue (Y/N): gpt\n19581 255 63 314572800\nWarning: "
    ));
    assert!(out.stdout.contains("(an extra 104857600 blocks)"));
    assert!(out.stdout.contains("diskSize (314572800) AlternateLBA (209715199) LastUsableLBA (209715166) NewLastUsableLBA (314572766)"));
    assert!(out.stdout.ends_with("Fix/Ignore/Cancel? "));
    let out = run(&mut host, &["partedUtil", "getUsableSectors", BLOG]);
    assert_eq!(
        (out.stdout.as_str(), out.stderr.as_str()),
        ("34 314572766\n", "")
    );

    assert_eq!(field(&mut host, "datastore1", "Type"), "VMFS-6");
    assert_eq!(
        field(&mut host, "datastore1", "Size"),
        (92_159 * 1_048_576u64).to_string()
    );
    // The blog's commands, word for word.
    ok(
        &mut host,
        &[
            "partedUtil",
            "resize",
            "/vmfs/devices/disks/mpx.vmhba0:C0:T0:L0",
            "8",
            "20973535",
            "314572766",
        ],
    );
    ok(
        &mut host,
        &[
            "vmkfstools",
            "--growfs",
            "/vmfs/devices/disks/mpx.vmhba0:C0:T0:L0:8",
            "/vmfs/devices/disks/mpx.vmhba0:C0:T0:L0:8",
        ],
    );
    assert_eq!(
        field(&mut host, "datastore1", "Size"),
        (143_359 * 1_048_576u64).to_string()
    );
    let query = ok(
        &mut host,
        &["vmkfstools", "-Ph", "/vmfs/volumes/datastore1"],
    );
    assert!(query.starts_with("VMFS-6.82 (Raw Major Version: 24) file system spanning 1 partitions.\nFile system label (if any): datastore1\n"), "{query}");
    assert!(
        query.contains("Capacity 140.0 GB, 138.6 GB available"),
        "{query}"
    );
    assert!(query.contains("Partitions spanned (on \"lvm\"):\n\tmpx.vmhba0:C0:T0:L0:8\n"));
    fails(
        &mut host,
        &[
            "vmkfstools",
            "-G",
            &format!("{BLOG}:8"),
            &format!("{BLOG}:8"),
        ],
        "the volume already fills the partition",
    );
}

#[test]
fn fixgpt_changes_nothing_without_its_answers() {
    let mut host = sim(&[BLOG_DISK]);
    let fix = ["partedUtil", "fixGpt", BLOG];
    fails_with(&mut host, &fix, "", 255, "Error: No answer: end of input");
    fails_with(
        &mut host,
        &fix,
        "Y\n",
        255,
        "Error: No answer: end of input",
    );
    fails_with(&mut host, &fix, "Y\nCancel\n", 255, "Error: Cancelled");
    for declined in ["N\n", "n\nFix\n", "Y\nIgnore\n", "y\ni\n"] {
        let before = state(&host);
        let out = run_with(&mut host, &fix, declined);
        assert_eq!(out.status, 0, "{declined:?}");
        assert_eq!(state(&host), before, "{declined:?} changed the table");
    }
    // Anything but Fix, Ignore or Cancel (or a prefix of one) is asked again.
    let out = run_with(&mut host, &fix, "Y\nyes\nf\n");
    assert_eq!(out.status, 0);
    assert_eq!(out.stdout.matches("Fix/Ignore/Cancel? ").count(), 2);
    assert_eq!(
        ok(&mut host, &["partedUtil", "getUsableSectors", BLOG]),
        "34 314572766\n"
    );
    // A sound GPT asks only the first question and reads only its answer.
    let mut input = Cursor::new(b"Y\nFix\nmore\n".to_vec());
    let out = tool::run(
        &mut host,
        "partedUtil",
        &["fixGpt".into(), BLOG.into()],
        &mut input,
    );
    assert_eq!(out.status, 0);
    assert!(!out.stdout.contains("Fix/Ignore/Cancel?"));
    assert_eq!(input.position(), 2);
}

#[test]
fn commands_that_do_not_prompt_never_read_stdin() {
    let mut host = sim(&[BLOG_DISK, "sata,100G,model=M,serial=S1"]);
    let disk = &format!("/vmfs/devices/disks/t10.ATA_____M{}S1", "_".repeat(57));
    let lines: &[&[&str]] = &[
        &["partedUtil", "getptbl", BLOG],
        &["partedUtil", "mklabel", disk, "gpt"],
        &["partedUtil", "add", disk, "gpt", "1 2048 209715166 vmfs 0"],
        &[
            "vmkfstools",
            "-C",
            "vmfs6",
            "-S",
            "ds2",
            &format!("{disk}:1"),
        ],
        &["vmkfstools", "-P", "/vmfs/volumes/ds2"],
        &["esxcli", "storage", "filesystem", "unmount", "-l", "ds2"],
        &["partedUtil", "delete", disk, "1"],
        &["partedUtil", "showGuids"],
    ];
    for line in lines {
        let mut input = Cursor::new(b"0\nY\nFix\n".to_vec());
        let argv: Vec<String> = line[1..].iter().map(|s| s.to_string()).collect();
        let out = tool::run(&mut host, line[0], &argv, &mut input);
        assert_eq!(out.status, 0, "{line:?}: {out:?}");
        assert_eq!(input.position(), 0, "{line:?} read stdin");
        assert!(input.fill_buf().is_ok_and(|b| b.len() == 8));
    }
}

#[test]
fn showguids_is_the_real_list() {
    let mut host = sim(&[]);
    assert_eq!(
        ok(&mut host, &["partedUtil", "showGuids"]),
        "\
 Partition Type       GUID
 vmfs                 AA31E02A400F11DB9590000C2911D1B8
 vmkDiagnostic        9D27538040AD11DBBF97000C2911D1B8
 vsan                 381CFCCC728811E092EE000C2911D0B2
 VMware Reserved      9198EFFC31C011DB8F78000C2911D1B8
 Basic Data           EBD0A0A2B9E5443387C068B6B72699C7
 Linux Swap           0657FD6DA4AB43C484E50933C84B4F4F
 Linux Lvm            E6D6D379F50744C2A23C238F2A3DF928
 Linux Raid           A19D880F05FC4D3BA006743F0F84911E
 Efi System           C12A7328F81F11D2BA4B00A0C93EC93B
 Microsoft Reserved   E3C9E3160B5C4DB8817DF92DF00215AE
 Unused Entry         00000000000000000000000000000000
"
    );
}

#[test]
fn the_device_list_block_is_the_real_one() {
    let mut host = sim(&[BLOG_DISK, "sata,100G,model=ST3320620AS,serial=6QF1PZXB"]);
    // The research sample with Vendor and Model padded to the SCSI inquiry's 8 and 16 characters.
    let expected = "\
mpx.vmhba0:C0:T0:L0
   Display Name: Local VMware Disk (mpx.vmhba0:C0:T0:L0)
   Has Settable Display Name: false
   Size: 153600
   Device Type: Direct-Access
   Multipath Plugin: HPP
   Devfs Path: /vmfs/devices/disks/mpx.vmhba0:C0:T0:L0
   Vendor: VMware  
   Model: Virtual disk    
   Revision: 2.0
   SCSI Level: 6
   Is Pseudo: false
   Status: on
   Is RDM Capable: false
   Is Local: true
   Is Removable: false
   Is SSD: false
   Is VVOL PE: false
   Is Offline: false
   Is Perennially Reserved: false
   Queue Full Sample Size: 0
   Queue Full Threshold: 0
   Thin Provisioning Status: unknown
   Attached Filters:
   VAAI Status: unsupported
   Other UIDs: vml.0000000000766d686261303a303a30
   Is Shared Clusterwide: false
   Is SAS: false
   Is USB: false
   Is Boot Device: true
   Device Max Queue Depth: 1024
   No of outstanding IOs with competing worlds: 32
   Drive Type: unknown
   RAID Level: unknown
   Number of Physical Drives: unknown
   Protection Enabled: false
   PI Activated: false
   PI Type: 0
   PI Protection Mask: NO PROTECTION
   Supported Guard Types: NO GUARD SUPPORT
   DIX Enabled: false
   DIX Guard Type: NO GUARD SUPPORT
   Emulated DIX/DIF Enabled: false
";
    let all = ok(&mut host, &["esxcli", "storage", "core", "device", "list"]);
    assert!(
        all.starts_with(&format!("{expected}\nt10.ATA_____ST3320620AS")),
        "{all}"
    );
    assert!(all.contains("   Display Name: Local ATA Disk (t10.ATA_ST3320620AS_6QF1PZXB)\n"));
    assert!(all.contains(
        "   Other UIDs: vml.010000000020202020202020202020202036514631505a5842535433333230\n"
    ));
    for filter in [
        &["-d", "mpx.vmhba0:C0:T0:L0"][..],
        &["--device", "mpx.vmhba0:C0:T0:L0"],
        &["--device=mpx.vmhba0:C0:T0:L0"],
    ] {
        let mut line = vec!["esxcli", "storage", "core", "device", "list"];
        line.extend_from_slice(filter);
        assert_eq!(ok(&mut host, &line), expected, "{filter:?}");
    }
    fails(
        &mut host,
        &["esxcli", "storage", "core", "device", "list", "-d", "naa.0"],
        "Error: Unknown device naa.0",
    );
    let csv = ok(
        &mut host,
        &[
            "esxcli",
            "--formatter=csv",
            "storage",
            "core",
            "device",
            "list",
        ],
    );
    assert!(
        csv.lines()
            .next()
            .is_some_and(|h| h.contains(",DevfsPath,Device,DeviceMaxQueueDepth,DeviceType,")),
        "{csv}"
    );
    assert!(csv.contains(
        ",/vmfs/devices/disks/mpx.vmhba0:C0:T0:L0,mpx.vmhba0:C0:T0:L0,1024,Direct-Access,"
    ));
}

#[test]
fn capacity_list_has_the_real_shape() {
    let mut host = sim(&[
        WD_DISK,
        "sas,3907029168s,model=ST2000NM0045,serial=ZC20ABCD,wwn=0x5000c5008c8b0f7f,512e",
    ]);
    assert_eq!(
        ok(&mut host, &["esxcli", "storage", "core", "device", "capacity", "list"]),
        "\
Device                                                                Physical Blocksize  Logical Blocksize  Logical Block Count         Size  Format Type
--------------------------------------------------------------------  ------------------  -----------------  -------------------  -----------  -----------
t10.NVMe____WD_BLACK_SN770_500GB____________________7B387D4B8B441B00                 512                512            976773168   476940 MiB  512n
naa.5000c5008c8b0f7f                                                                4096                512           3907029168  1907729 MiB  512e
"
    );
    assert_eq!(
        ok(
            &mut host,
            &[
                "esxcli",
                "--formatter=csv",
                "storage",
                "core",
                "device",
                "capacity",
                "list",
                "-d",
                "naa.5000c5008c8b0f7f"
            ]
        ),
        "Device,FormatType,LogicalBlockCount,LogicalBlocksize,PhysicalBlocksize,Size,\nnaa.5000c5008c8b0f7f,512e,3907029168,512,4096,1907729 MiB,\n"
    );
}

#[test]
fn nvme_controllers_are_listed_and_described() {
    let mut host = sim(&[WD_DISK, "sata,100G,model=M,serial=S"]);
    assert_eq!(
        ok(&mut host, &["esxcli", "nvme", "device", "list"]),
        "HBA Name  Status  Signature\n--------  ------  ----------------------\nvmhba0    Online  nvmeMgmt-nvme001060000\n"
    );
    for flag in [
        &["-A", "vmhba0"][..],
        &["--adapter", "vmhba0"],
        &["--adapter=vmhba0"],
    ] {
        let mut line = vec!["esxcli", "nvme", "device", "get"];
        line.extend_from_slice(flag);
        let out = ok(&mut host, &line);
        assert!(
            out.contains("   Serial Number: 22123A800123        \n"),
            "{out}"
        );
        assert!(out.contains("   Model Number: WD_BLACK SN770 500GB                    \n"));
        assert!(out.contains("   Firmware Revision: 731030WD\n"));
    }
    fails(
        &mut host,
        &["esxcli", "nvme", "device", "get"],
        "Missing required parameter -A|--adapter",
    );
    fails(
        &mut host,
        &["esxcli", "nvme", "device", "get", "-A", "vmhba1"],
        "no NVMe controller",
    );
    let paths = ok(&mut host, &["esxcli", "storage", "core", "path", "list"]);
    assert!(paths.contains("   Adapter: vmhba0\n"));
    assert!(paths.contains(
        "   Device: t10.NVMe____WD_BLACK_SN770_500GB____________________7B387D4B8B441B00\n"
    ));
    assert!(paths.contains("   Target Identifier: sata.0:0\n"));
}

#[test]
fn the_maas_image_on_nvme_gets_the_datastore_of_the_real_host() {
    let mut host = sim(&[WD_DISK]);
    let out = run_with(&mut host, &["partedUtil", "fixGpt", WD], "Y\nFix\n");
    assert_eq!(out.status, 0);
    assert_eq!(
        ok(&mut host, &["partedUtil", "getUsableSectors", WD]),
        "34 976773134\n"
    );
    // What packer-maas added, in its argument order: one quoted argument.
    ok(
        &mut host,
        &[
            "partedUtil",
            "add",
            WD,
            "gpt",
            &format!("8 67108831 976773134 {VMFS} 0"),
        ],
    );
    assert_eq!(
        ok(&mut host, &["partedUtil", "getptbl", WD]),
        "\
gpt
60801 255 63 976773168
1 64 204863 C12A7328F81F11D2BA4B00A0C93EC93B systemPartition 128
5 208896 8595455 EBD0A0A2B9E5443387C068B6B72699C7 linuxNative 0
6 8597504 16984063 EBD0A0A2B9E5443387C068B6B72699C7 linuxNative 0
7 16986112 67108830 4EB2EA3978554790A79EFAE495E21F8D vmfsl 0
8 67108831 976773134 AA31E02A400F11DB9590000C2911D1B8 vmfs 0
"
    );
    let name = WD.trim_start_matches("/vmfs/devices/disks/");
    let out = ok(
        &mut host,
        &[
            "vmkfstools",
            "-C",
            "vmfs6",
            "-S",
            "datastore1",
            &format!("{WD}:8"),
        ],
    );
    let uuid = out
        .lines()
        .last()
        .and_then(|l| l.strip_prefix("Successfully created new volume: "))
        .expect("a new volume")
        .to_string();
    assert_eq!(
        out,
        format!(
            "create fs deviceName:'{WD}:8', fsShortName:'vmfs6', fsName:'datastore1'\n\
             deviceFullPath:/dev/disks/{name}:8 deviceFile:{name}:8\n\
             ATS on device /dev/disks/{name}:8: not supported\n\
             .\n\
             Checking if remote hosts are using this device as a valid file system. This may take a few seconds...\n\
             Creating vmfs6 file system on \"{name}:8\" with blockSize 1048576, unmapGranularity 1048576, unmapPriority default and volume label \"datastore1\".\n\
             Successfully created new volume: {uuid}\n"
        )
    );
    assert!(
        uuid.ends_with("-000c29aabbcc"),
        "the management MAC ends the UUID: {uuid}"
    );
    let extents = ok(&mut host, &["esxcli", "storage", "vmfs", "extent", "list"]);
    assert_eq!(
        extents,
        format!(
            "Volume Name  VMFS UUID                            Extent Number  Device Name                                                           Partition\n\
             -----------  -----------------------------------  -------------  --------------------------------------------------------------------  ---------\n\
             datastore1   {uuid}              0  {name}          8\n"
        )
    );
}

#[test]
fn partition_tables_follow_gpt_rules() {
    let mut host = sim(&[
        "sata,100G,model=M,serial=S1",
        "sata,100G,model=M,serial=S2,layout=msdos",
    ]);
    let pad = "_".repeat(57);
    let disk = &format!("/vmfs/devices/disks/t10.ATA_____M{pad}S1");
    let dos = &format!("/vmfs/devices/disks/t10.ATA_____M{pad}S2");
    assert_eq!(
        ok(&mut host, &["partedUtil", "getptbl", disk]),
        "unknown\n13054 255 63 209715200\n"
    );
    fails(
        &mut host,
        &["partedUtil", "getUsableSectors", disk],
        "Error: Unknown partition table on disk",
    );
    fails(
        &mut host,
        &["partedUtil", "add", disk, "gpt", "1 2048 4096 vmfs 0"],
        "Unknown partition table",
    );
    fails(
        &mut host,
        &["partedUtil", "getptbl", "/vmfs/devices/disks/naa.0000"],
        "Error: Could not stat device /vmfs/devices/disks/naa.0000 - No such file or directory.\nUnable to get device /vmfs/devices/disks/naa.0000",
    );
    fails(
        &mut host,
        &["partedUtil", "getptbl", "naa.0000"],
        "Could not stat device naa.0000",
    );
    fails(
        &mut host,
        &["partedUtil", "mklabel", disk, "bsd"],
        "Invalid label type 'bsd'",
    );
    ok(&mut host, &["partedUtil", "mklabel", disk, "gpt"]);
    assert_eq!(
        ok(&mut host, &["partedUtil", "getUsableSectors", disk]),
        "34 209715166\n"
    );
    ok(
        &mut host,
        &["partedUtil", "add", disk, "gpt", "1 2048 4196351 vmfs 0"],
    );
    ok(
        &mut host,
        &[
            "partedUtil",
            "add",
            disk,
            "gpt",
            "3 8390656 12584959 EBD0A0A2B9E5443387C068B6B72699C7 0",
        ],
    );
    let add = |spec: &str| {
        vec![
            "partedUtil".to_string(),
            "add".into(),
            disk.into(),
            "gpt".into(),
            spec.into(),
        ]
    };
    for (spec, message) in [
        (
            "2 4196351 8390655 vmfs 0",
            "Error: Can't have overlapping partitions.\nPartition 2 at sectors 4196351-8390655 overlaps partition 1 at sectors 2048-4196351",
        ),
        (
            "2 4196352 8390656 vmfs 0",
            "Can't have overlapping partitions.",
        ),
        (
            "2 33 2047 vmfs 0",
            "Error: Can't have a partition outside the disk!\nPartition 2 at sectors 33-2047 is outside the usable sectors 34-209715166",
        ),
        ("2 12584960 209715167 vmfs 0", "outside the disk"),
        (
            "1 12584960 16779263 vmfs 0",
            "Partition number 1 is already in use",
        ),
        (
            "0 12584960 16779263 vmfs 0",
            "Invalid partition number 0: it must be 1-128",
        ),
        (
            "129 12584960 16779263 vmfs 0",
            "Invalid partition number 129",
        ),
        (
            "2 16779263 12584960 vmfs 0",
            "start sector 16779263 is after end sector 12584960",
        ),
        (
            "2 12584960 16779263 ext4 0",
            "Invalid partition type or GUID 'ext4'",
        ),
        (
            "2 12584960 16779263 AA31E02A400F11DB9590000C2911D1B 0",
            "Invalid partition type or GUID",
        ),
        (
            "2 12584960 16779263 vmfs",
            "Invalid partition specification",
        ),
        (
            "2 12584960 16779263 vmfs 0 0",
            "Invalid partition specification",
        ),
    ] {
        let line = add(spec);
        let line: Vec<&str> = line.iter().map(String::as_str).collect();
        fails(&mut host, &line, message);
    }
    // The partition not quoted as one argument.
    fails(
        &mut host,
        &[
            "partedUtil",
            "add",
            disk,
            "gpt",
            "2",
            "12584960",
            "16779263",
            "vmfs",
            "0",
        ],
        "Too many arguments",
    );
    fails(
        &mut host,
        &[
            "partedUtil",
            "add",
            disk,
            "msdos",
            "2 12584960 16779263 vmfs 0",
        ],
        "The disk has a gpt label, not msdos",
    );
    fails(
        &mut host,
        &["partedUtil", "delete", disk, "2"],
        "Partition 2 does not exist",
    );
    fails(
        &mut host,
        &["partedUtil", "resize", disk, "1", "2048", "8390656"],
        "Can't have overlapping partitions.",
    );
    fails(
        &mut host,
        &["partedUtil", "frobnicate", disk],
        "Unknown command 'frobnicate'",
    );
    fails(&mut host, &["partedUtil"], "Not enough arguments");
    fails(
        &mut host,
        &["partedUtil", "getptbl", &format!("{disk}:1")],
        "is a partition",
    );
    assert_eq!(
        ok(&mut host, &["partedUtil", "partinfo", disk, "3"]),
        "3 8390656 12584959 EBD0A0A2B9E5443387C068B6B72699C7 0\n"
    );
    // Printed in disk order, whatever the numbers.
    ok(
        &mut host,
        &[
            "partedUtil",
            "add",
            disk,
            "gpt",
            "2 12584960 16779263 vmfs 0",
        ],
    );
    ok(
        &mut host,
        &["partedUtil", "resize", disk, "1", "2048", "8390655"],
    );
    ok(&mut host, &["partedUtil", "delete", disk, "3"]);
    assert_eq!(
        ok(&mut host, &["partedUtil", "getptbl", disk]),
        format!(
            "gpt\n13054 255 63 209715200\n1 2048 8390655 {VMFS} vmfs 0\n2 12584960 16779263 {VMFS} vmfs 0\n"
        )
    );
    // setptbl rewrites the whole table and echoes it.
    let out = ok(
        &mut host,
        &[
            "partedUtil",
            "setptbl",
            disk,
            "gpt",
            &format!("1 2048 209715166 {VMFS} 0"),
        ],
    );
    assert_eq!(out, format!("gpt\n0 0 0 0\n1 2048 209715166 {VMFS} 0\n"));
    fails(
        &mut host,
        &[
            "partedUtil",
            "setptbl",
            disk,
            "gpt",
            "1 2048 4096 vmfs 0",
            "2 4096 8192 vmfs 0",
        ],
        "Can't have overlapping partitions.",
    );
    // msdos: numbers 1 to 4, numeric types.
    assert_eq!(
        ok(&mut host, &["partedUtil", "getUsableSectors", dos]),
        "1 209715199\n"
    );
    ok(
        &mut host,
        &["partedUtil", "add", dos, "msdos", "1 2048 4096 251 0"],
    );
    ok(
        &mut host,
        &["partedUtil", "add", dos, "msdos", "2 8192 16384 vmfs 0"],
    );
    fails(
        &mut host,
        &["partedUtil", "add", dos, "msdos", "5 20000 30000 251 0"],
        "it must be 1-4",
    );
    fails(
        &mut host,
        &["partedUtil", "add", dos, "msdos", "3 20000 30000 vmfsl 0"],
        "Invalid partition type 'vmfsl'",
    );
    assert_eq!(
        ok(&mut host, &["partedUtil", "getptbl", dos]),
        "msdos\n13054 255 63 209715200\n1 2048 4096 251 0\n2 8192 16384 251 0\n"
    );
}

#[test]
fn partitions_in_use_are_protected_until_unmounted() {
    let mut host = sim(&["virtual,200G,layout=esxi7,boot"]);
    let boot = "/vmfs/devices/disks/mpx.vmhba0:C0:T0:L0";
    let busy = "Error: Read-only file system during write on /dev/disks/mpx.vmhba0:C0:T0:L0\nSetPtableGpt: Unable to commit to disk";
    let table = ok(&mut host, &["partedUtil", "getptbl", boot]);
    let p8 = table.lines().last().expect("partition 8").to_string();
    assert!(p8.starts_with("8 268437471 419430366 "), "{p8}");
    fails(&mut host, &["partedUtil", "delete", boot, "8"], busy);
    fails(&mut host, &["partedUtil", "delete", boot, "5"], busy);
    fails(&mut host, &["partedUtil", "mklabel", boot, "gpt"], busy);
    fails(&mut host, &["partedUtil", "setptbl", boot, "gpt"], busy);
    fails(
        &mut host,
        &["partedUtil", "resize", boot, "8", "268437471", "300000000"],
        busy,
    );
    fails(
        &mut host,
        &["partedUtil", "resize", boot, "8", "268439552", "419430366"],
        busy,
    );
    fails(
        &mut host,
        &[
            "vmkfstools",
            "-C",
            "vmfs6",
            "-S",
            "again",
            &format!("{boot}:8"),
        ],
        "Error: Device or resource busy: mpx.vmhba0:C0:T0:L0:8 holds the mounted volume 'datastore1'",
    );
    // The host's own volumes cannot be unmounted; -a leaves them mounted.
    let csv = ok(
        &mut host,
        &["esxcli", "--formatter=csv", "storage", "filesystem", "list"],
    );
    let osdata = csv
        .split(',')
        .find(|c| c.starts_with("OSDATA-"))
        .expect("an OSDATA volume")
        .to_string();
    fails(
        &mut host,
        &[
            "esxcli",
            "storage",
            "filesystem",
            "unmount",
            "--volume-label",
            &osdata,
        ],
        "because file system is busy",
    );
    fails(
        &mut host,
        &["esxcli", "storage", "filesystem", "unmount"],
        "Exactly one of -a|--unmount-all-vmfs",
    );
    fails(
        &mut host,
        &["esxcli", "storage", "filesystem", "unmount", "-l", "nope"],
        "No volume with label 'nope' was found",
    );
    ok(
        &mut host,
        &["esxcli", "storage", "filesystem", "unmount", "-a"],
    );
    fails(
        &mut host,
        &[
            "esxcli",
            "storage",
            "filesystem",
            "unmount",
            "-l",
            "datastore1",
        ],
        "Volume 'datastore1' is not mounted",
    );
    assert_eq!(field(&mut host, "BOOTBANK1", "Mounted"), "true");
    let row = volume(&mut host, "datastore1");
    let row: Vec<&str> = ["MountPoint", "Mounted", "Type", "Size", "Free"]
        .iter()
        .map(|k| row[*k].as_str())
        .collect();
    assert_eq!(row, ["", "false", "VMFS-unknown version", "0", "0"]);
    assert_eq!(
        ok(&mut host, &["esxcli", "storage", "vmfs", "extent", "list"]),
        ""
    );
    // Unmounted, the partition goes; the volume is listed until a rescan finds it gone.
    ok(&mut host, &["partedUtil", "delete", boot, "8"]);
    assert_eq!(field(&mut host, "datastore1", "Mounted"), "false");
    fails(
        &mut host,
        &[
            "esxcli",
            "storage",
            "filesystem",
            "mount",
            "-l",
            "datastore1",
        ],
        "its partitions are gone",
    );
    ok(&mut host, &["esxcli", "storage", "filesystem", "rescan"]);
    assert!(volume(&mut host, "datastore1").is_empty());
    // Remounting by UUID, and unmounting by path, short and long options.
    let mut host = sim(&["virtual,200G,layout=esxi7,boot"]);
    let uuid = field(&mut host, "datastore1", "UUID");
    ok(
        &mut host,
        &[
            "esxcli",
            "storage",
            "filesystem",
            "unmount",
            "-p",
            "/vmfs/volumes/datastore1",
        ],
    );
    ok(
        &mut host,
        &[
            "esxcli",
            "storage",
            "filesystem",
            "mount",
            &format!("--volume-uuid={uuid}"),
        ],
    );
    fails(
        &mut host,
        &["esxcli", "storage", "filesystem", "mount", "-u", &uuid],
        "is already mounted",
    );
    ok(
        &mut host,
        &["esxcli", "storage", "filesystem", "unmount", "-u", &uuid],
    );
    ok(
        &mut host,
        &[
            "esxcli",
            "storage",
            "filesystem",
            "mount",
            "--volume-label",
            "datastore1",
        ],
    );
}

#[test]
fn a_first_boot_script_builds_a_spanned_datastore() {
    let mut host = sim(&[
        "virtual,200G,layout=esxi7,boot",
        "sata,100G,model=Samsung SSD 860,serial=S3Z9NB0K123456A,wwn=0x50025388a059c7bd,ssd",
        "sata,50G,model=Samsung SSD 860,serial=S3Z9NB0K654321B,wwn=0x50025388a059c7be,ssd",
    ]);
    let head = "/vmfs/devices/disks/naa.50025388a059c7bd";
    let extent = "/vmfs/devices/disks/naa.50025388a059c7be";
    ok(&mut host, &["partedUtil", "mklabel", head, "gpt"]);
    let usable = ok(&mut host, &["partedUtil", "getUsableSectors", head]);
    assert_eq!(usable, "34 209715166\n");
    // A first datastore partition of 40 GiB, to be grown later.
    ok(
        &mut host,
        &[
            "partedUtil",
            "add",
            head,
            "gpt",
            &format!("1 2048 83888127 {VMFS} 0"),
        ],
    );
    ok(
        &mut host,
        &[
            "vmkfstools",
            "--createfs=vmfs6",
            "--blocksize",
            "1m",
            "--setfsname=ds2",
            &format!("{head}:1"),
        ],
    );
    fails(
        &mut host,
        &[
            "vmkfstools",
            "-C",
            "vmfs6",
            "-S",
            "ds2",
            &format!("{head}:2"),
        ],
        "No such file or directory",
    );
    ok(&mut host, &["partedUtil", "mklabel", extent, "gpt"]);
    ok(
        &mut host,
        &[
            "partedUtil",
            "add",
            extent,
            "gpt",
            "1 2048 104857566 vmfs 0",
        ],
    );
    let span = [
        "vmkfstools",
        "-Z",
        &format!("{extent}:1"),
        &format!("{head}:1"),
    ];
    fails_with(
        &mut host,
        &span,
        "1\n",
        255,
        "Error: Operation cancelled by the user",
    );
    fails_with(&mut host, &span, "", 255, "Error: No answer: end of input");
    let out = run_with(&mut host, &span, "0\n");
    assert_eq!(out.status, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        format!(
            "VMware ESX Question:\nAll data on {extent}:1 will be lost. Continue and format?\n\n0) _Yes\n1) _No\n\nSelect a number from 0-1: "
        )
    );
    fails_with(
        &mut host,
        &span,
        "0\n",
        255,
        "holds the mounted volume 'ds2'",
    );
    let extents = ok(
        &mut host,
        &[
            "esxcli",
            "--formatter=csv",
            "storage",
            "vmfs",
            "extent",
            "list",
        ],
    );
    let ds2: Vec<&str> = extents.lines().filter(|l| l.contains(",ds2,")).collect();
    assert_eq!(ds2.len(), 2, "{extents}");
    assert!(ds2[0].starts_with("naa.50025388a059c7bd,0,1,"), "{extents}");
    assert!(ds2[1].starts_with("naa.50025388a059c7be,1,1,"), "{extents}");
    // Grow the head's partition to the end of its disk, then the volume.
    ok(
        &mut host,
        &["partedUtil", "resize", head, "1", "2048", "209715166"],
    );
    let before: u64 = field(&mut host, "ds2", "Size").parse().expect("a size");
    ok(
        &mut host,
        &[
            "vmkfstools",
            "-G",
            &format!("{head}:1"),
            &format!("{head}:1"),
        ],
    );
    let after: u64 = field(&mut host, "ds2", "Size").parse().expect("a size");
    assert_eq!(
        after - before,
        (209_715_166 - 83_888_127) * 512 / 1_048_576 * 1_048_576
    );
    let query = ok(&mut host, &["vmkfstools", "--queryfs", "/vmfs/volumes/ds2"]);
    assert!(query.contains("file system spanning 2 partitions."));
    assert!(
        query.contains("\tnaa.50025388a059c7bd:1\n\tnaa.50025388a059c7be:1\n"),
        "{query}"
    );
}

#[test]
fn vmkfstools_enforces_the_volume_rules() {
    let mut host = sim(&["virtual,200G,layout=esxi7,boot", "virtual,80G,layout=gpt"]);
    let boot = "/vmfs/devices/disks/mpx.vmhba0:C0:T0:L0";
    let disk = "/vmfs/devices/disks/mpx.vmhba0:C0:T1:L0";
    ok(
        &mut host,
        &[
            "partedUtil",
            "add",
            disk,
            "gpt",
            "1 2048 4096 linuxNative 0",
        ],
    );
    fails(
        &mut host,
        &["vmkfstools", "-C", "vmfs6", "-S", "x", &format!("{disk}:1")],
        "has type linuxNative, not vmfs",
    );
    fails(
        &mut host,
        &["vmkfstools", "-C", "vmfs6", "-S", "x", disk],
        "is a whole disk",
    );
    fails(
        &mut host,
        &["vmkfstools", "-C", "vmfs6", "-S", "x", &format!("{disk}:9")],
        "No such file or directory",
    );
    fails(
        &mut host,
        &["vmkfstools", "-C", "ext4", "-S", "x", &format!("{disk}:1")],
        "Unsupported file system type 'ext4'",
    );
    fails(
        &mut host,
        &[
            "vmkfstools",
            "-C",
            "vmfs6",
            "-b",
            "8m",
            "-S",
            "x",
            &format!("{disk}:1"),
        ],
        "Invalid block size '8m'",
    );
    fails(
        &mut host,
        &["vmkfstools", "-C", "vmfs6", "-S", "x"],
        "-C takes one partition",
    );
    fails(
        &mut host,
        &["vmkfstools", "-x"],
        "vmkfstools: invalid option -- 'x'",
    );
    fails(
        &mut host,
        &["vmkfstools", "/vmfs/volumes/x"],
        "No operation",
    );
    ok(&mut host, &["partedUtil", "delete", disk, "1"]);
    ok(
        &mut host,
        &["partedUtil", "add", disk, "gpt", "1 2048 2000000 vmfs 0"],
    );
    fails(
        &mut host,
        &["vmkfstools", "-C", "vmfs6", "-S", "x", &format!("{disk}:1")],
        "a VMFS volume needs 1300 MiB",
    );
    ok(
        &mut host,
        &["partedUtil", "resize", disk, "1", "2048", "4196351"],
    );
    fails(
        &mut host,
        &[
            "vmkfstools",
            "-C",
            "vmfs6",
            "-S",
            "datastore1",
            &format!("{disk}:1"),
        ],
        "A mounted volume is already labelled 'datastore1'",
    );
    ok(
        &mut host,
        &[
            "vmkfstools",
            "-C",
            "vmfs6",
            "-S",
            "small",
            &format!("{disk}:1"),
        ],
    );
    // Thirty-one more extents of 2 GiB: thirty-two in all is the most a volume spans.
    for n in 2..=33u64 {
        let start = 2048 + (n - 1) * 4_194_304;
        let spec = format!("{n} {start} {} vmfs 0", start + 4_194_303);
        ok(&mut host, &["partedUtil", "add", disk, "gpt", &spec]);
    }
    for n in 2..=32 {
        let out = run_with(
            &mut host,
            &[
                "vmkfstools",
                "-Z",
                &format!("{disk}:{n}"),
                &format!("{disk}:1"),
            ],
            "0\n",
        );
        assert_eq!(out.status, 0, "extent {n}: {out:?}");
    }
    fails_with(
        &mut host,
        &[
            "vmkfstools",
            "-Z",
            &format!("{disk}:33"),
            &format!("{disk}:1"),
        ],
        "0\n",
        255,
        "already spans the maximum of 32 extents",
    );
    fails_with(
        &mut host,
        &[
            "vmkfstools",
            "-Z",
            &format!("{disk}:33"),
            &format!("{disk}:2"),
        ],
        "0\n",
        255,
        "is not the head extent of volume 'small'",
    );
    fails_with(
        &mut host,
        &[
            "vmkfstools",
            "-Z",
            &format!("{disk}:33"),
            "/vmfs/volumes/small",
        ],
        "0\n",
        255,
        "is not a device partition",
    );
    fails_with(
        &mut host,
        &[
            "vmkfstools",
            "-Z",
            &format!("{disk}:33"),
            &format!("{boot}:7"),
        ],
        "0\n",
        255,
        "does not hold a mounted VMFS volume",
    );
    fails(
        &mut host,
        &[
            "vmkfstools",
            "-G",
            &format!("{disk}:1"),
            &format!("{disk}:2"),
        ],
        "-G takes the grown partition twice",
    );
    fails(
        &mut host,
        &["vmkfstools", "-P", "/vmfs/volumes/nope"],
        "Could not retrieve attributes for /vmfs/volumes/nope",
    );
    // An unmounted volume is overwritten by a new file system on its sectors.
    ok(
        &mut host,
        &["esxcli", "storage", "filesystem", "unmount", "-l", "small"],
    );
    ok(
        &mut host,
        &[
            "vmkfstools",
            "-C",
            "vmfs6",
            "-S",
            "fresh",
            &format!("{disk}:33"),
        ],
    );
    assert_eq!(field(&mut host, "small", "Mounted"), "false");
    ok(
        &mut host,
        &[
            "vmkfstools",
            "-C",
            "vmfs6",
            "-S",
            "fresh2",
            &format!("{disk}:5"),
        ],
    );
    assert!(
        volume(&mut host, "small").is_empty(),
        "small was overwritten"
    );
}

#[test]
fn calls_are_classified_for_the_accounting() {
    let mut host = sim(&[BLOG_DISK]);
    ok(&mut host, &["partedUtil", "getptbl", BLOG]);
    run_with(&mut host, &["partedUtil", "fixGpt", BLOG], "Y\nFix\n");
    ok(
        &mut host,
        &["vmkfstools", "--queryfs", "/vmfs/volumes/datastore1"],
    );
    ok(&mut host, &["vmkfstools", "-V"]);
    ok(&mut host, &["esxcli", "storage", "filesystem", "rescan"]);
    fails(
        &mut host,
        &[
            "vmkfstools",
            "-G",
            &format!("{BLOG}:8"),
            &format!("{BLOG}:8"),
        ],
        "fills the partition",
    );
    let calls: Vec<(&str, bool, bool)> = host
        .calls
        .iter()
        .map(|c| (c.kind.as_str(), c.mutating, c.ok))
        .collect();
    assert_eq!(
        calls,
        [
            ("partedUtil getptbl", false, true),
            ("partedUtil fixGpt", true, true),
            ("vmkfstools -P", false, true),
            ("vmkfstools -V", false, true),
            ("esxcli storage filesystem rescan", false, true),
            ("vmkfstools -G", true, false),
        ]
    );
}

#[test]
fn vim_cmd_renames_a_mounted_datastore_and_nothing_else() {
    let mut host = sim(&[BLOG_DISK, "sata,64G,model=M,serial=S,vmfs=other"]);
    let rename = |old: &str, new: &str| -> Vec<String> {
        ["vim-cmd", "hostsvc/datastore/rename", old, new]
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    fn line(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }
    let uuid = field(&mut host, "datastore1", "UUID");
    for (old, new, status, message) in [
        ("datastore9", "x", 1, "(vim.fault.NotFound)"),
        ("datastore1", "other", 1, "(vim.fault.DuplicateName)"),
        ("datastore1", "a/b", 1, "(vim.fault.InvalidName)"),
        ("datastore1", "", 1, "(vim.fault.InvalidName)"),
    ] {
        fails_with(&mut host, &line(&rename(old, new)), "", status, message);
    }
    fails_with(
        &mut host,
        &["vim-cmd", "hostsvc/datastore/rename", "datastore1"],
        "",
        1,
        "Usage: rename oldname newname",
    );
    fails_with(
        &mut host,
        &["vim-cmd", "hostsvc/maintenance_mode_enter"],
        "",
        1,
        "Unknown command",
    );
    ok(
        &mut host,
        &line(&rename("datastore1", "esx01 'local' $(x)")),
    );
    assert_eq!(field(&mut host, "esx01 'local' $(x)", "UUID"), uuid);
    assert!(volume(&mut host, "datastore1").is_empty());
    let kinds: Vec<(&str, bool)> = host
        .calls
        .iter()
        .filter(|c| c.tool == "vim-cmd")
        .map(|c| (c.kind.as_str(), c.mutating))
        .collect();
    assert_eq!(kinds[0], ("vim-cmd hostsvc/datastore/rename", true));
    assert_eq!(kinds[5], ("vim-cmd hostsvc/maintenance_mode_enter", false));
}

#[test]
fn a_script_creates_a_datastore_through_the_binary() {
    let dir = std::env::temp_dir().join(format!("esxi-sim-storage-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let state = dir.join("host.json");
    let script = dir.join("storage.sh");
    let exe = env!("CARGO_BIN_EXE_esxi-sim");
    let new = std::process::Command::new(exe)
        .args([
            "new",
            state.to_str().expect("utf-8 path"),
            "--nic",
            "00:0c:29:aa:bb:cc",
        ])
        .args(["--disk", "virtual,200G,layout=esxi7,boot"])
        .args([
            "--disk",
            "sata,100G,model=Samsung SSD 860,serial=S3Z9NB0K123456A,wwn=0x50025388a059c7bd,ssd",
        ])
        .output()
        .expect("esxi-sim new runs");
    assert!(new.status.success(), "{new:?}");
    std::fs::write(
        &script,
        r#"set -e
dev=$(esxcli storage core device list | awk '/Devfs Path:/ && !/mpx/ {print $3}')
partedUtil mklabel "$dev" gpt
end=$(partedUtil getUsableSectors "$dev" | awk '{print $2}')
partedUtil add "$dev" gpt "1 2048 $end AA31E02A400F11DB9590000C2911D1B8 0"
# Commands that do not prompt leave the loop's input alone.
while read -r n; do
    partedUtil getptbl "$dev" >/dev/null
    echo "checked $n"
done <<EOF
1
2
EOF
vmkfstools --createfs vmfs6 --blocksize 1m --setfsname ds2 "$dev:1" >/dev/null
esxcli --formatter=csv storage vmfs extent list
if partedUtil delete "$dev" 1 2>/dev/null; then echo "deleted a mounted datastore"; exit 1; fi
"#,
    )
    .expect("script written");
    let run = std::process::Command::new(exe)
        .args([
            "run",
            state.to_str().expect("utf-8 path"),
            script.to_str().expect("utf-8 path"),
        ])
        .output()
        .expect("esxi-sim run runs");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{run:?}");
    assert!(stdout.starts_with("checked 1\nchecked 2\n"), "{stdout}");
    assert!(stdout.contains("naa.50025388a059c7bd,0,1,"), "{stdout}");
    assert!(stdout.contains(",ds2,"), "{stdout}");
    let shown = std::process::Command::new(exe)
        .args(["stats", state.to_str().expect("utf-8 path")])
        .output()
        .expect("esxi-sim stats runs");
    let stats: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("stats are JSON");
    assert_eq!(stats["failures"], 1);
    assert_eq!(stats["mutating"], 4);
    let _ = std::fs::remove_dir_all(&dir);
}
