//! A parallel gzip writer that skips holes and zero runs: one single-member stream `zcat` turns back into
//! the exact input.
//!
//! The input is cut into data chunks (found with `SEEK_DATA`/`SEEK_HOLE`) and runs of zeros (holes, and
//! all-zero blocks inside data). Each chunk is deflated on its own by a worker, as raw deflate primed with
//! the 32 KiB before it as dictionary and ended with a full flush, so the pieces are byte-aligned and
//! concatenate into one valid deflate stream. Zero runs are never deflated: a fragment that encodes 1 MiB
//! of zeros on its own is computed once and repeated, and their CRC-32 is combined arithmetically. The
//! output depends only on the input's bytes and hole layout, never on the number of threads.

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::{self, Write};
use std::num::NonZeroUsize;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::sync::{Mutex, mpsc};

use crc32fast::Hasher;
use flate2::{Compress, Compression, FlushCompress};

/// What [`compress`] read and wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// The input's length.
    pub input_bytes: u64,
    /// Bytes that were deflated.
    pub deflated_bytes: u64,
    /// Bytes in holes and all-zero blocks, encoded without deflating them.
    pub zero_bytes: u64,
    /// The gzip stream's length.
    pub output_bytes: u64,
}

/// Compresses the whole of `input` into `output` as one gzip member, on `threads` workers.
///
/// At most two chunks per thread are in flight (read, deflated or waiting to be written), so memory stays
/// bounded whatever the input's size.
/// `progress` is called with the number of input bytes done so far and the input's length.
pub fn compress(
    input: &File,
    output: &mut dyn Write,
    threads: NonZeroUsize,
    progress: &mut dyn FnMut(u64, u64),
) -> io::Result<Summary> {
    let len = input.metadata()?.len();
    let zeros = ZeroRuns::new()?;
    let mut out = Counted::new(output);
    out.write_all(&GZIP_HEADER)?;
    let mut stream = Stream {
        out,
        zeros: &zeros,
        crc: Hasher::new(),
        summary: Summary {
            input_bytes: len,
            ..Summary::default()
        },
        progress,
    };
    let limit = 2 * threads.get();
    let (job_tx, job_rx) = mpsc::channel::<Job>();
    let job_rx = Mutex::new(job_rx);
    std::thread::scope(|scope| -> io::Result<()> {
        // Owned by this closure: however it returns, the workers see the end of the jobs and stop.
        let job_tx = job_tx;
        let (piece_tx, piece_rx) = mpsc::channel::<(u64, io::Result<Piece>)>();
        for _ in 0..threads.get() {
            let (job_rx, piece_tx, zeros) = (&job_rx, piece_tx.clone(), &zeros);
            scope.spawn(move || worker(input, job_rx, &piece_tx, zeros));
        }
        drop(piece_tx);

        // Chunks sent to the workers and not yet written: at most `limit`, counting finished ones that
        // wait for an earlier chunk, so memory stays bounded.
        let mut pending = 0;
        let mut queue = VecDeque::new();
        let mut done = BTreeMap::new();
        let mut seq = 0;
        let mut receive = |queue: &mut VecDeque<Item>| -> io::Result<usize> {
            let (n, piece) = piece_rx.recv().map_err(|_| {
                io::Error::other("internal error, this is a bug: a compression worker stopped")
            })?;
            done.insert(n, piece?);
            stream.write_ready(queue, &mut done)
        };
        for piece in Pieces::new(input, len) {
            match piece? {
                Segment::Zeros(n) => queue.push_back(Item::Zeros(n)),
                Segment::Data(range) => {
                    while pending >= limit {
                        pending -= receive(&mut queue)?;
                    }
                    let job = Job {
                        seq,
                        start: range.start,
                        end: range.end,
                    };
                    job_tx.send(job).map_err(|_| {
                        io::Error::other("internal error, this is a bug: no compression worker")
                    })?;
                    queue.push_back(Item::Chunk(seq));
                    seq += 1;
                    pending += 1;
                }
            }
        }
        drop(job_tx);
        while pending > 0 {
            pending -= receive(&mut queue)?;
        }
        stream
            .write_ready(&mut queue, &mut BTreeMap::new())
            .map(drop)
    })?;
    stream.finish()
}

/// Data is deflated in chunks of at most this size, within windows aligned to multiples of it.
const CHUNK: u64 = 4 << 20;
/// Inside a chunk, aligned blocks of this size that hold only zeros are encoded as zero runs.
const BLOCK: u64 = 64 << 10;
/// Deflate's window: each chunk gets this much of the preceding input as dictionary.
const WINDOW: u64 = 32 << 10;
/// The length of zeros one precomputed fragment stands for.
const ZERO_FRAGMENT: usize = 1 << 20;
/// gzip's and pigz's default level, so that sizes compare with theirs.
const LEVEL: u32 = 6;
/// Magic, deflate, no flags, no mtime (reproducible output), no extra flags, OS Unix.
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
/// A final fixed-Huffman block holding only the end-of-block code: it closes the deflate stream.
const FINAL_BLOCK: [u8; 2] = [0x03, 0x00];
static ZERO_BLOCK: [u8; BLOCK as usize] = [0; BLOCK as usize];

/// The input's allocated ranges in order, found with `SEEK_DATA`/`SEEK_HOLE`; what lies between them are
/// holes. A file system without them reports the whole file as data.
struct Extents<'a> {
    file: &'a File,
    pos: u64,
    len: u64,
}

impl<'a> Extents<'a> {
    fn new(file: &'a File, len: u64) -> Self {
        Extents { file, pos: 0, len }
    }

    fn seek(&self, to: rustix::fs::SeekFrom) -> io::Result<Option<u64>> {
        match rustix::fs::seek(self.file, to) {
            Ok(at) => Ok(Some(at.min(self.len))),
            Err(rustix::io::Errno::NXIO) => Ok(Some(self.len)),
            Err(rustix::io::Errno::INVAL) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn next_range(&self) -> io::Result<Range<u64>> {
        let Some(start) = self.seek(rustix::fs::SeekFrom::Data(self.pos))? else {
            return Ok(self.pos..self.len);
        };
        if start >= self.len {
            return Ok(self.len..self.len);
        }
        let end = self
            .seek(rustix::fs::SeekFrom::Hole(start))?
            .unwrap_or(self.len);
        if end <= start {
            return Err(io::Error::other(format!(
                "the file system reported neither data nor a hole at offset {start}"
            )));
        }
        Ok(start..end)
    }
}

impl Iterator for Extents<'_> {
    type Item = io::Result<Range<u64>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.len {
            return None;
        }
        match self.next_range() {
            Ok(range) if range.is_empty() => {
                self.pos = self.len;
                None
            }
            Ok(range) => {
                self.pos = range.end;
                Some(Ok(range))
            }
            Err(e) => {
                self.pos = self.len;
                Some(Err(e))
            }
        }
    }
}

/// A piece of the output, in input order.
#[derive(Debug, PartialEq, Eq)]
enum Segment {
    /// This many zeros (holes).
    Zeros(u64),
    /// Input to read and deflate.
    Data(Range<u64>),
}

/// Cuts the input into [`Segment`]s: all the data within one [`CHUNK`]-aligned window of the input, from
/// its first allocated byte to its last, is one `Data` segment (small holes inside are read as zeros);
/// everything else is `Zeros`. So the number of segments is bounded by the size, whatever the file's
/// fragmentation.
struct Pieces<'a> {
    extents: Extents<'a>,
    len: u64,
    /// The window's data so far, not yet emitted.
    pending: Option<Range<u64>>,
    /// The end of what was emitted.
    emitted: u64,
    ready: VecDeque<Segment>,
    done: bool,
}

impl<'a> Pieces<'a> {
    fn new(file: &'a File, len: u64) -> Self {
        Pieces {
            extents: Extents::new(file, len),
            len,
            pending: None,
            emitted: 0,
            ready: VecDeque::new(),
            done: false,
        }
    }

    fn add(&mut self, data: Range<u64>) {
        let mut pos = data.start;
        while pos < data.end {
            let window = pos / CHUNK;
            let end = ((window + 1) * CHUNK).min(data.end);
            match &mut self.pending {
                Some(pending) if pending.start / CHUNK == window => pending.end = end,
                _ => {
                    self.flush();
                    self.pending = Some(pos..end);
                }
            }
            pos = end;
        }
    }

    fn flush(&mut self) {
        if let Some(data) = self.pending.take() {
            self.zeros_until(data.start);
            self.emitted = data.end;
            self.ready.push_back(Segment::Data(data));
        }
    }

    fn zeros_until(&mut self, at: u64) {
        if at > self.emitted {
            self.ready.push_back(Segment::Zeros(at - self.emitted));
            self.emitted = at;
        }
    }
}

impl Iterator for Pieces<'_> {
    type Item = io::Result<Segment>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(segment) = self.ready.pop_front() {
                return Some(Ok(segment));
            }
            if self.done {
                return None;
            }
            match self.extents.next() {
                Some(Ok(data)) => self.add(data),
                Some(Err(e)) => {
                    self.done = true;
                    return Some(Err(e));
                }
                None => {
                    self.flush();
                    self.zeros_until(self.len);
                    self.done = true;
                }
            }
        }
    }
}

/// One data chunk to deflate, `start..end` of the input, number `seq` in output order.
#[derive(Debug)]
struct Job {
    seq: u64,
    start: u64,
    end: u64,
}

/// A deflated chunk: its deflate bytes, the CRC-32 of its input, and how much of it was zero runs.
#[derive(Debug)]
struct Piece {
    deflate: Vec<u8>,
    crc: Hasher,
    zero_bytes: u64,
}

/// An entry of the output queue, in input order.
#[derive(Debug)]
enum Item {
    Zeros(u64),
    Chunk(u64),
}

fn worker(
    input: &File,
    jobs: &Mutex<mpsc::Receiver<Job>>,
    pieces: &mpsc::Sender<(u64, io::Result<Piece>)>,
    zeros: &ZeroRuns,
) {
    let mut buf = Vec::new();
    loop {
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        let piece = deflate_chunk(input, &job, &mut buf, zeros);
        if pieces.send((job.seq, piece)).is_err() {
            return;
        }
    }
}

/// Reads one chunk and the window before it into `buf`, and deflates its non-zero runs with their
/// preceding window as dictionary; zero runs become zero fragments.
fn deflate_chunk(
    input: &File,
    job: &Job,
    buf: &mut Vec<u8>,
    zeros: &ZeroRuns,
) -> io::Result<Piece> {
    let window = job.start.min(WINDOW) as usize;
    let len = (job.end - job.start) as usize;
    buf.resize(window + len, 0);
    input.read_exact_at(buf, job.start - window as u64)?;
    let mut crc = Hasher::new();
    crc.update(&buf[window..]);
    let mut deflate = Vec::with_capacity(len / 2);
    let mut zero_bytes = 0;
    let mut pos = 0;
    while pos < len {
        let (run_end, zero) = run(&buf[window..], job.start, pos);
        if zero {
            zeros.encode((run_end - pos) as u64, &mut deflate)?;
            zero_bytes += (run_end - pos) as u64;
        } else {
            let dict_start = (window + pos).saturating_sub(WINDOW as usize);
            deflate_run(
                Compression::new(LEVEL),
                &buf[dict_start..window + pos],
                &buf[window + pos..window + run_end],
                &mut deflate,
            )?;
        }
        pos = run_end;
    }
    Ok(Piece {
        deflate,
        crc,
        zero_bytes,
    })
}

/// The end of the run of all-zero or of not-all-zero [`BLOCK`]s that starts at `pos` of `data`, which
/// starts at `offset` of the input, and whether it is zeros.
fn run(data: &[u8], offset: u64, pos: usize) -> (usize, bool) {
    let block_end = |at: usize| {
        (((offset + at as u64) / BLOCK + 1) * BLOCK - offset).min(data.len() as u64) as usize
    };
    let is_zero = |at: usize, end: usize| data[at..end] == ZERO_BLOCK[..end - at];
    let mut end = block_end(pos);
    let zero = is_zero(pos, end);
    while end < data.len() {
        let next = block_end(end);
        if is_zero(end, next) != zero {
            break;
        }
        end = next;
    }
    (end, zero)
}

/// Appends `data` as raw deflate primed with `dictionary` and ended with a full flush.
///
/// Each run gets a compressor of its own: one reused through `Compress::reset` (zlib-rs) produced
/// different, valid, streams for the same run depending on what it had compressed before, which made the
/// output depend on which worker took which chunk.
fn deflate_run(
    level: Compression,
    dictionary: &[u8],
    data: &[u8],
    out: &mut Vec<u8>,
) -> io::Result<()> {
    let mut deflater = Compress::new(level, false);
    if !dictionary.is_empty() {
        deflater
            .set_dictionary(dictionary)
            .map_err(io::Error::other)?;
    }
    let mut consumed = 0;
    loop {
        if out.capacity() - out.len() < 64 << 10 {
            out.reserve((data.len() - consumed) / 2 + (64 << 10));
        }
        let before = deflater.total_in();
        deflater
            .compress_vec(&data[consumed..], out, FlushCompress::Full)
            .map_err(io::Error::other)?;
        consumed += (deflater.total_in() - before) as usize;
        // The flush is complete once all input is taken and the compressor left output space unused.
        if consumed == data.len() && out.len() < out.capacity() {
            return Ok(());
        }
    }
}

/// Encodes runs of zeros without deflating them, and computes their CRC-32 without hashing them.
#[derive(Debug)]
struct ZeroRuns {
    /// Raw deflate of [`ZERO_FRAGMENT`] zeros by a fresh compressor, full-flushed: it refers to no earlier
    /// data, so it is valid anywhere in the stream and can be repeated.
    fragment: Vec<u8>,
}

impl ZeroRuns {
    fn new() -> io::Result<Self> {
        Ok(ZeroRuns {
            fragment: Self::deflate_zeros(ZERO_FRAGMENT)?,
        })
    }

    fn deflate_zeros(n: usize) -> io::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(n / 512 + 1024);
        let zeros = vec![0; n];
        deflate_run(Compression::best(), &[], &zeros, &mut out)?;
        Ok(out)
    }

    /// Writes the deflate encoding of `n` zeros.
    fn encode(&self, n: u64, out: &mut impl Write) -> io::Result<()> {
        for _ in 0..n / ZERO_FRAGMENT as u64 {
            out.write_all(&self.fragment)?;
        }
        let tail = (n % ZERO_FRAGMENT as u64) as usize;
        if tail > 0 {
            out.write_all(&Self::deflate_zeros(tail)?)?;
        }
        Ok(())
    }

    /// Appends `n` zeros to the CRC-32 in `crc`.
    fn append_crc(crc: &mut Hasher, n: u64) {
        // Combining with a state of 0 multiplies `state` by x^(8n): what feeding n zeros to a bare CRC
        // register does. The CRC-32 of n zeros is then !(!0 · x^(8n)), as CRC-32 inverts before and after.
        let shifted = |state: u32| {
            let mut h = Hasher::new_with_initial(state);
            h.combine(&Hasher::new_with_initial_len(0, n));
            h.finalize()
        };
        crc.combine(&Hasher::new_with_initial_len(!shifted(!0), n));
    }
}

/// The writing end: the output in input order, the running CRC-32 and the counts.
struct Stream<'a, 'p> {
    out: Counted<'a>,
    zeros: &'a ZeroRuns,
    crc: Hasher,
    summary: Summary,
    progress: &'p mut dyn FnMut(u64, u64),
}

impl Stream<'_, '_> {
    /// Writes the queue's items from the front for as long as they are ready; returns how many chunks
    /// it wrote.
    fn write_ready(
        &mut self,
        queue: &mut VecDeque<Item>,
        done: &mut BTreeMap<u64, Piece>,
    ) -> io::Result<usize> {
        let mut chunks = 0;
        while let Some(item) = queue.front() {
            let (bytes, zero_bytes) = match item {
                Item::Zeros(n) => {
                    self.zeros.encode(*n, &mut self.out)?;
                    ZeroRuns::append_crc(&mut self.crc, *n);
                    (*n, *n)
                }
                Item::Chunk(seq) => {
                    let Some(piece) = done.remove(seq) else { break };
                    chunks += 1;
                    self.out.write_all(&piece.deflate)?;
                    self.crc.combine(&piece.crc);
                    (piece.crc.total_len(), piece.zero_bytes)
                }
            };
            queue.pop_front();
            self.summary.zero_bytes += zero_bytes;
            self.summary.deflated_bytes += bytes - zero_bytes;
            let done_bytes = self.summary.zero_bytes + self.summary.deflated_bytes;
            (self.progress)(done_bytes, self.summary.input_bytes);
        }
        Ok(chunks)
    }

    /// Ends the deflate stream and writes the gzip trailer.
    fn finish(mut self) -> io::Result<Summary> {
        let done = self.summary.zero_bytes + self.summary.deflated_bytes;
        if done != self.summary.input_bytes {
            return Err(io::Error::other(format!(
                "the input changed while it was read: expected {} bytes, read {done}",
                self.summary.input_bytes
            )));
        }
        self.out.write_all(&FINAL_BLOCK)?;
        self.out
            .write_all(&self.crc.clone().finalize().to_le_bytes())?;
        // ISIZE is the length modulo 2^32.
        self.out
            .write_all(&(self.summary.input_bytes as u32).to_le_bytes())?;
        self.out.flush()?;
        self.summary.output_bytes = self.out.count;
        Ok(self.summary)
    }
}

/// A writer that counts what passes through it.
struct Counted<'a> {
    inner: &'a mut dyn Write,
    count: u64,
}

impl<'a> Counted<'a> {
    fn new(inner: &'a mut dyn Write) -> Self {
        Counted { inner, count: 0 }
    }
}

impl Write for Counted<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    /// Deterministic bytes that deflate does not shrink.
    fn noise(len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    /// Text that deflate shrinks well but not to nothing.
    fn text(len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 64);
        let mut i = 0u64;
        while out.len() < len {
            out.extend_from_slice(
                format!(
                    "line {i}: vmk{} portgroup VLAN {}\n",
                    i % 7,
                    (i * 37) % 4094
                )
                .as_bytes(),
            );
            i += 1;
        }
        out.truncate(len);
        out
    }

    /// A temporary file with `len` bytes, `parts` written at their offsets and holes elsewhere.
    fn sparse_file(len: u64, parts: &[(u64, &[u8])]) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().expect("temporary file");
        file.as_file().set_len(len).expect("set_len");
        for (at, bytes) in parts {
            file.as_file().write_all_at(bytes, *at).expect("write");
        }
        file
    }

    fn gzip(file: &File, threads: usize) -> (Vec<u8>, Summary) {
        let mut out = Vec::new();
        let threads = NonZeroUsize::new(threads).expect("threads > 0");
        let summary = compress(file, &mut out, threads, &mut |_, _| {}).expect("compress");
        assert_eq!(summary.output_bytes, out.len() as u64);
        (out, summary)
    }

    /// Compresses with 1 and 3 threads, checks both give the same bytes, and that flate2's decoder turns
    /// them back into the file and finds nothing after the single member.
    fn check_round_trip(file: &File) -> Summary {
        let (one, summary) = gzip(file, 1);
        let (three, _) = gzip(file, 3);
        assert!(one == three, "output differs between 1 and 3 threads");
        let mut decoder = flate2::read::GzDecoder::new(&one[..]);
        let mut decoded = Vec::new();
        decoder.read_to_end(&mut decoded).expect("valid gzip");
        assert!(
            decoder.into_inner().is_empty(),
            "bytes after the gzip member"
        );
        let mut original = vec![0; file.metadata().expect("metadata").len() as usize];
        file.read_exact_at(&mut original, 0).expect("read input");
        assert_eq!(decoded.len(), original.len());
        assert!(decoded == original, "decoded bytes differ from the input");
        assert_eq!(summary.input_bytes, original.len() as u64);
        assert_eq!(
            summary.deflated_bytes + summary.zero_bytes,
            summary.input_bytes
        );
        summary
    }

    #[test]
    fn empty_file() {
        let file = sparse_file(0, &[]);
        let summary = check_round_trip(file.as_file());
        assert_eq!(summary.input_bytes, 0);
        let (out, _) = gzip(file.as_file(), 2);
        // Header, the final empty block, CRC and length: what `gzip` writes for empty input, minus its name.
        assert_eq!(
            out,
            [&GZIP_HEADER[..], &[3, 0, 0, 0, 0, 0, 0, 0, 0, 0]].concat()
        );
    }

    #[test]
    fn file_smaller_than_a_chunk() {
        let file = sparse_file(0, &[(0, b"hello, ESXi\n")]);
        let summary = check_round_trip(file.as_file());
        assert_eq!(summary.deflated_bytes, 12);
    }

    #[test]
    fn data_ending_in_a_hole() {
        let file = sparse_file(
            10 << 20,
            &[(0, &noise(300_000, 1)), (5 << 20, &text(100_000))],
        );
        let summary = check_round_trip(file.as_file());
        assert!(summary.zero_bytes >= (10 << 20) - (5 << 20) - 100_000 - 65_536);
    }

    #[test]
    fn hole_at_the_start_and_chunks_across_boundaries() {
        let file = sparse_file(
            CHUNK * 3 + 12_345,
            &[
                (CHUNK - 1000, &text(CHUNK as usize + 5000)),
                (CHUNK * 3, &noise(12_345, 2)),
            ],
        );
        check_round_trip(file.as_file());
    }

    #[test]
    fn zero_runs_that_are_not_multiples_of_the_fragment() {
        // Written zeros inside data (1 MiB + 70,000 bytes, then 3 MiB + 1) and a hole of 3 MiB + 12,345.
        let mut data = noise(100_000, 3);
        data.extend(std::iter::repeat_n(0, ZERO_FRAGMENT + 70_000));
        data.extend(text(50_000));
        data.extend(std::iter::repeat_n(0, 3 * ZERO_FRAGMENT + 1));
        data.extend(noise(777, 4));
        let hole_end = data.len() as u64 + (3 << 20) + 12_345;
        let file = sparse_file(hole_end + 4096, &[(0, &data), (hole_end, &text(4096))]);
        let summary = check_round_trip(file.as_file());
        assert!(
            summary.zero_bytes >= 4 * ZERO_FRAGMENT as u64,
            "zero blocks were deflated: {summary:?}"
        );
    }

    #[test]
    fn only_zeros_written() {
        let file = sparse_file(0, &[(0, &vec![0; 2 * CHUNK as usize + 3])]);
        let summary = check_round_trip(file.as_file());
        assert_eq!(summary.deflated_bytes, 0);
    }

    #[test]
    fn segments_tile_the_file_with_at_most_one_data_segment_per_window() {
        // Many small extents in the first window, one extent across the second and third, a hole at the end.
        let mut parts: Vec<(u64, Vec<u8>)> =
            (0..50).map(|i| (i * (64 << 10), text(1000))).collect();
        parts.push((2 * CHUNK - 5000, noise(10_000, 5)));
        let parts: Vec<(u64, &[u8])> = parts.iter().map(|(at, b)| (*at, &b[..])).collect();
        let len = 5 * CHUNK + 7;
        let file = sparse_file(len, &parts);
        let segments: Vec<Segment> = Pieces::new(file.as_file(), len)
            .collect::<io::Result<_>>()
            .expect("segments");
        let mut pos = 0;
        let mut windows = Vec::new();
        for segment in &segments {
            match segment {
                Segment::Zeros(n) => pos += n,
                Segment::Data(range) => {
                    assert_eq!(range.start, pos, "segments are contiguous: {segments:?}");
                    assert_eq!(
                        range.start / CHUNK,
                        (range.end - 1) / CHUNK,
                        "one window: {range:?}"
                    );
                    windows.push(range.start / CHUNK);
                    pos = range.end;
                }
            }
        }
        assert_eq!(pos, len, "segments cover the file: {segments:?}");
        windows.dedup();
        assert_eq!(
            windows.len(),
            segments
                .iter()
                .filter(|s| matches!(s, Segment::Data(_)))
                .count()
        );
        check_round_trip(file.as_file());
    }

    #[test]
    fn zero_crc_matches_hashing_zeros() {
        for n in [
            0,
            1,
            31,
            1000,
            ZERO_FRAGMENT as u64,
            5 * ZERO_FRAGMENT as u64 + 7,
        ] {
            let mut prefix = Hasher::new();
            prefix.update(b"abc");
            let mut hashed = prefix.clone();
            hashed.update(&vec![0; n as usize]);
            ZeroRuns::append_crc(&mut prefix, n);
            assert_eq!(prefix.finalize(), hashed.finalize(), "{n} zeros");
        }
    }

    #[test]
    fn runs_follow_block_boundaries() {
        // The data starts 100 bytes before a block boundary; its only non-zero byte is in the second block.
        let offset = BLOCK - 100;
        let mut data = vec![0u8; 3 * BLOCK as usize];
        data[BLOCK as usize + 5] = 1;
        assert_eq!(run(&data, offset, 0), (100, true));
        assert_eq!(run(&data, offset, 100), (100 + BLOCK as usize, false));
        assert_eq!(run(&data, offset, 100 + BLOCK as usize), (data.len(), true));
    }
}
