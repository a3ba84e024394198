//! Finding a partition of a raw disk through its GUID partition table.

use std::io::{Read, Seek};
use std::ops::Range;

use anyhow::bail;

/// The byte range of partition `number` of `disk`, whose length is `len`.
///
/// The primary GPT header is tried with 512- and 4096-byte sectors, then the backup header at the end.
pub fn partition<D: Read + Seek>(
    disk: &mut D,
    len: u64,
    number: u32,
) -> anyhow::Result<Range<u64>> {
    let gpt = match gptman::GPT::find_from(disk) {
        Ok(gpt) => gpt,
        Err(gptman::Error::InvalidSignature) => {
            bail!(
                "no GPT: no \"EFI PART\" header for 512- or 4096-byte sectors at the start or the end"
            )
        }
        Err(e) => bail!("invalid GPT: {e}"),
    };
    if number == 0 || number > gpt.header.number_of_partition_entries {
        bail!("the GPT has no slot for partition {number}");
    }
    let entry = &gpt[number];
    if entry.is_unused() {
        bail!("partition {number} is not defined");
    }
    let range = gpt.get_partition_byte_range(number)?;
    let (start, end) = (*range.start(), range.end().saturating_add(1));
    if end > len {
        bail!("partition {number} ends at byte {end}, past the end of the disk ({len} bytes)");
    }
    Ok(start..end)
}
