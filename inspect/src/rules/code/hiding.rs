//! Hiding rules: code shaped to be unreadable. Long encoded blobs, huge
//! single lines, known packers, and code hidden in images (steganography).

use crate::finding::{Finding, Severity};
use crate::python::Call;
use crate::rules::code::payload::{looks_encoded, EXEC};
use crate::rules::code::PyFile;

/// Lines longer than this are `hiding/long-line`: minified or packed code.
pub(super) const LONG_LINE: usize = 20_000;

/// Shannon entropy in bits per byte.
pub fn entropy(s: &str) -> f64 {
    let mut counts = [0usize; 256];
    for b in s.bytes() {
        counts[b as usize] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|c| **c > 0)
        .map(|c| {
            let p = *c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// Share of its alphabet's capacity that a blob's entropy must reach: random
/// bytes encoded in an alphabet of 2^b symbols carry close to b bits per
/// symbol (base64 6, hex 4); padding, repeated chunks and prose carry far less.
const MIN_ENTROPY_SHARE: f64 = 0.75;

/// True when `s`, already known to look encoded, is dense enough to be
/// random data: its entropy measured against its own alphabet (hex or
/// base64), so a hex payload is not held to base64's bar.
fn dense_enough(s: &str) -> bool {
    let symbols: String = s.replace("\\x", "").chars().filter(|c| !c.is_whitespace() && *c != '=').collect();
    let bits_per_symbol = if symbols.bytes().all(|b| b.is_ascii_hexdigit()) { 4.0 } else { 6.0 };
    entropy(&symbols) > MIN_ENTROPY_SHARE * bits_per_symbol
}

pub fn run(file: &PyFile, out: &mut Vec<Finding>) {
    if let Some(lit) = file.facts.literals.iter().find(|l| l.value.len() >= 1000 && looks_encoded(&l.value) && dense_enough(&l.value)) {
        out.push(file.finding(
            "hiding/encoded-blob",
            file.weigh(Severity::Medium),
            lit.line,
            format!("a {}-character encoded string: a payload or packed code", lit.value.len()),
        ));
    }
    executable_blob(file, out);
    if let Some((i, line)) = file.text.lines().enumerate().find(|(_, l)| l.len() > LONG_LINE) {
        out.push(file.finding(
            "hiding/long-line",
            file.weigh(Severity::Medium),
            i as u32 + 1,
            format!("a {}-character line: minified or packed code", line.len()),
        ));
    }
    if let Some((line, name)) = packer_marker(file) {
        out.push(file.finding("hiding/packer", file.weigh(Severity::High), line, format!("code packed with {name} cannot be reviewed")));
    }
    steganography(file, out);
}

/// The kind of program a base64 or hex blob decodes to, read from its
/// first bytes: a Windows (`MZ`) or Linux (ELF) executable.
fn executable_kind(blob: &str) -> Option<&'static str> {
    let compact: String = blob.chars().filter(|c| !c.is_whitespace()).collect();
    // The magic is in the first few bytes: decode a prefix only.
    let head = if compact.bytes().all(|b| b.is_ascii_hexdigit()) {
        crate::python::fold::hex_decode(compact.get(..16)?)?
    } else {
        crate::python::fold::base64_decode(compact.get(..16)?, false)?
    };
    if head.starts_with(b"MZ") && head.len() >= 4 {
        Some("a Windows executable")
    } else if head.starts_with(b"\x7fELF") {
        Some("an ELF executable")
    } else {
        None
    }
}

/// A program kept in an encoded string (`"TVqQAAMA…"` is a Windows
/// executable in base64): high when the file starts a process, which is how
/// such a program is run once written out; a mention-like medium otherwise.
fn executable_blob(file: &PyFile, out: &mut Vec<Finding>) {
    let Some((lit, kind)) =
        file.facts.literals.iter().filter(|l| l.value.len() >= 200 && looks_encoded(&l.value)).find_map(|l| Some((l, executable_kind(&l.value)?)))
    else {
        return;
    };
    let start = file.calls().find(|c| crate::python::is_process_callee(&c.callee) || c.is(&["os.startfile"]));
    let (severity, how) = match start {
        Some(c) => (Severity::Critical, format!(", and {}() on line {} starts a program", c.callee, c.line)),
        None => (Severity::Medium, String::new()),
    };
    out.push(file.finding(
        "hiding/executable-blob",
        file.weigh(severity),
        lit.line,
        format!("{kind} is hidden in a {}-character encoded string{how}: a dropped payload", lit.value.len()),
    ));
}

/// Libraries whose purpose is hiding data in images.
const STEGO_LIBRARIES: [&str; 6] = ["stegano", "stegpy", "steganography", "cryptosteganography", "stepic", "steganocryptopy"];
/// Calls that read an image's pixels or raw bytes.
const PIXEL_READS: [&str; 4] = [".getdata", ".getpixel", ".tobytes", ".reveal"];
const IMAGE_EXTENSIONS: [&str; 8] = [".png", ".jpg", ".jpeg", ".gif", ".bmp", ".ico", ".webp", ".tiff"];

fn names_image(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    IMAGE_EXTENSIONS.iter().any(|e| lower.ends_with(e))
}

/// Code run out of an image: a steganography library's reveal, pixel data,
/// or an image file's bytes feeding exec/eval/compile in the same function.
/// A steganography library alone is worth a look (medium).
fn steganography(file: &PyFile, out: &mut Vec<Finding>) {
    let stego_library = file.facts.imports.iter().find(|(m, _)| STEGO_LIBRARIES.iter().any(|l| m == l || m.starts_with(&format!("{l}."))));
    let reads_image = |c: &Call| {
        let pixels = c.is(&PIXEL_READS) && (file.facts.imports_module("PIL") || stego_library.is_some());
        let image_bytes = c.is(&["open", "io.open", "pathlib.Path.read_bytes"]) && c.strings.iter().any(|s| names_image(s));
        pixels || image_bytes || (c.inner_has(&PIXEL_READS) && stego_library.is_some())
    };
    let runner = file.calls().filter(|c| c.is(&EXEC)).find(|exec| {
        (exec.inner_has(&PIXEL_READS) && (file.facts.imports_module("PIL") || stego_library.is_some()))
            || file.calls().any(|c| c.function == exec.function && reads_image(c))
    });
    if let Some(exec) = runner {
        out.push(file.finding(
            "hiding/steganography",
            file.weigh(Severity::High),
            exec.line,
            format!("{}() runs code read out of an image (pixels or image bytes): a steganography loader", exec.callee),
        ));
    } else if let Some((module, line)) = stego_library {
        out.push(file.finding("hiding/steganography", file.weigh(Severity::Medium), *line, format!("imports {module}, a library for hiding data in images")));
    }
}

/// Where packed code shows its packer, read from the code itself (never
/// from comments or docstrings, which may just mention one): PyArmor's
/// runtime imported (`pyarmor_runtime_000000`, `pytransform`) or its entry
/// called (`__pyarmor__`), or an obfuscator's `__obfuscator__` marker assigned.
fn packer_marker(file: &PyFile) -> Option<(u32, &'static str)> {
    let pyarmor_import = file.facts.imports.iter().find(|(m, _)| {
        let last = m.trim_start_matches('.');
        last.split('.').any(|part| part.starts_with("pyarmor_runtime") || part == "pytransform")
    });
    let pyarmor_call = file.calls().find(|c| {
        let name = c.callee.rsplit('.').next().unwrap_or(&c.callee);
        matches!(name, "__pyarmor__" | "__pyarmor_enter__" | "__pyarmor_exit__" | "pyarmor_runtime" | "__armor_enter__")
    });
    let pyarmor = [pyarmor_import.map(|(_, line)| *line), pyarmor_call.map(|c| c.line)].into_iter().flatten().min();
    if let Some(line) = pyarmor {
        return Some((line, "PyArmor"));
    }
    let obfuscator = file.facts.dunder_assignments.iter().find(|(name, _)| name == "__obfuscator__");
    if let Some((_, line)) = obfuscator {
        return Some((*line, "an obfuscator"));
    }
    // pyobfuscate's loader: a function of that name called with its site's
    // address as a key, which installs the unpacked names into builtins.
    let pyobfuscate = file.calls().find(|c| c.callee == "pyobfuscate" && c.strings.iter().any(|s| s.contains("pyobfuscate.com")));
    pyobfuscate.map(|c| (c.line, "pyobfuscate"))
}
