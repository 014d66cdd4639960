//! Branding images: where an image reference points, and whether the image suits its role.
//!
//! Wallets load branding images with React Native's `Image`, which handles https and `data:` URLs
//! and PNG/JPEG/GIF/WebP files; a local path is resolved by trustc at build time. RFC 0756 gives
//! each role a shape (logo 1:1, background 3:1, slice 1:10), and RFC 0755 warns that remote images
//! let an issuer see when and where a credential is shown. Local images are measured by reading only
//! their headers.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use base64::Engine;

use crate::confine::{Confined, Resolved, normalize};
use crate::diag::{Code, FileDiagnostics};
use crate::syntax::{Span, Spanned};

/// What an image is used for on a card.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageRole {
    Logo,
    Background,
    Slice,
}

impl ImageRole {
    pub fn name(self) -> &'static str {
        match self {
            ImageRole::Logo => "logo",
            ImageRole::Background => "background image",
            ImageRole::Slice => "background image slice",
        }
    }

    /// Recommended width and height in pixels (RFC 0756).
    pub fn recommended(self) -> (u32, u32) {
        match self {
            ImageRole::Logo => (240, 240),
            ImageRole::Background => (1080, 360),
            ImageRole::Slice => (120, 1200),
        }
    }

    /// Largest file (or decoded `data:` payload) that is still reasonable for the role. Wallets
    /// download every bundle's images; the recommended sizes compress far below these.
    pub fn budget_bytes(self) -> u64 {
        match self {
            ImageRole::Logo => 100 * 1024,
            ImageRole::Background => 250 * 1024,
            ImageRole::Slice => 150 * 1024,
        }
    }
}

/// How far an image's aspect ratio may be from its role's before it is reported.
const RATIO_TOLERANCE: f64 = 0.05;

/// Where image paths are resolved.
pub struct ImageContext<'a> {
    /// The checked folder (canonical) and what is known of its folders; no image may lie outside
    /// it.
    pub files: &'a LocalImages,
    /// The folder of the file that names the image.
    pub base_dir: &'a Path,
}

/// The local images of one checked folder, each measured once: repositories share a few images
/// between many bundles (one logo per issuer), and a header read once per bundle was as many
/// `open`s and reads. One per thread, like the [`Confined`] it holds.
#[derive(Debug)]
pub struct LocalImages {
    pub confined: Confined,
    measured: RefCell<HashMap<PathBuf, Rc<Measured>>>,
    /// Whether a file exists, for the local copies of remote images (a few lookups per URL).
    exists: RefCell<HashMap<PathBuf, bool>>,
}

impl LocalImages {
    /// `root` is the checked folder, canonical.
    pub fn new(root: &Path) -> LocalImages {
        LocalImages {
            confined: Confined::new(root),
            measured: RefCell::default(),
            exists: RefCell::default(),
        }
    }

    pub fn root(&self) -> &Path {
        self.confined.root()
    }

    /// Reads the header of the image at `path` once.
    fn measure(&self, path: &Path) -> Rc<Measured> {
        if let Some(measured) = self.measured.borrow().get(path) {
            return Rc::clone(measured);
        }
        let measured = Rc::new(measure_file(path));
        self.measured
            .borrow_mut()
            .insert(path.to_path_buf(), Rc::clone(&measured));
        measured
    }

    fn is_file(&self, path: &Path) -> bool {
        if let Some(&exists) = self.exists.borrow().get(path) {
            return exists;
        }
        let exists = path.is_file();
        self.exists.borrow_mut().insert(path.to_path_buf(), exists);
        exists
    }
}

/// What an image's first bytes and size say about it.
#[derive(Debug)]
enum Shape {
    Svg,
    Unrecognised,
    Unsupported(imagesize::ImageType),
    Damaged,
    Dimensions(imagesize::ImageSize),
}

/// A local image file, measured: its size and shape, or why it could not be read.
#[derive(Debug)]
struct Measured(Result<(u64, Shape), String>);

/// Checks one image reference and reports what is wrong with it. Empty references are "no image"
/// and are not reported.
pub fn check_image(
    context: &ImageContext,
    role: ImageRole,
    reference: &Spanned<String>,
    sink: &mut FileDiagnostics,
) {
    let value = reference.value.trim();
    if value.is_empty() {
        return;
    }
    let span = reference.span;
    if let Some(rest) = strip_prefix_ignore_case(value, "data:") {
        check_data_url(role, rest, span, sink);
    } else if strip_prefix_ignore_case(value, "https://").is_some() {
        sink.report(
            Code::RemoteImage,
            span,
            format!("the {} is loaded from a remote server", role.name()),
            "every wallet that shows this card requests this URL",
            "RFC 0755 encourages issuers not to use external references: the server learns when and \
             where holders look at their credentials; keep the image in the repository (a local path) \
             or inline it as a small data: URL",
        );
        if let Some(local) = local_copy_of_url(context.files, value) {
            check_file(context.files, role, &local, Some(value), span, sink);
        }
    } else if let Some(scheme) = scheme_of(value) {
        let help = if scheme.eq_ignore_ascii_case("http") {
            "use https: wallets refuse or warn about plain http".to_string()
        } else if scheme.eq_ignore_ascii_case("hl") {
            "RFC 0755 allows hashlinks, but wallets cannot load them; use an https URL, a data: URL or a local path"
                .to_string()
        } else {
            "use an https URL, a data: URL, or a path to a file in the repository".to_string()
        };
        sink.report(
            Code::ImageScheme,
            span,
            format!(
                "the {} uses the `{scheme}:` scheme, which wallets cannot load",
                role.name()
            ),
            format!("`{scheme}:` is not supported"),
            help,
        );
    } else {
        check_local(context, role, value, span, sink);
    }
}

fn strip_prefix_ignore_case<'a>(value: &'a str, prefix: &str) -> Option<&'a str> {
    let head = value.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &value[prefix.len()..])
}

/// The URI scheme of `value`, if it has one (`ftp` in `ftp://x`). A Windows drive letter (`C:`) is
/// not a scheme.
fn scheme_of(value: &str) -> Option<&str> {
    let colon = value.find(':')?;
    let scheme = &value[..colon];
    let valid = scheme.len() > 1
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then_some(scheme)
}

fn check_data_url(role: ImageRole, rest: &str, span: Span, sink: &mut FileDiagnostics) {
    let Some((header, payload)) = rest.split_once(',') else {
        sink.report(
            Code::ImageUnreadable,
            span,
            format!(
                "the {} is a data: URL without a `,` before its data",
                role.name()
            ),
            "malformed data: URL",
            "write `data:image/png;base64,<base64 data>`",
        );
        return;
    };
    if !header.to_ascii_lowercase().ends_with(";base64") {
        sink.report(
            Code::ImageUnreadable,
            span,
            format!(
                "the {} is a data: URL that is not base64-encoded",
                role.name()
            ),
            "expected `;base64`",
            "write `data:image/png;base64,<base64 data>`",
        );
        return;
    }
    // Line breaks inside the base64 are tolerated; copy only when there are any.
    let payload: std::borrow::Cow<str> = if payload.bytes().any(|b| b.is_ascii_whitespace()) {
        payload
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect::<String>()
            .into()
    } else {
        payload.into()
    };
    let bytes = match base64::engine::general_purpose::STANDARD.decode(payload.as_bytes()) {
        Ok(bytes) => bytes,
        Err(error) => {
            sink.report(
                Code::ImageUnreadable,
                span,
                format!(
                    "the {}'s data: URL does not hold valid base64: {error}",
                    role.name()
                ),
                "invalid base64",
                "re-encode the image, for example with `base64 -w0 logo.png`",
            );
            return;
        }
    };
    let shape = shape_of(&bytes, || imagesize::blob_size(&bytes));
    report_shape(
        role,
        &shape,
        bytes.len() as u64,
        &format!("the inlined {}", role.name()),
        span,
        sink,
    );
}

fn check_local(
    context: &ImageContext,
    role: ImageRole,
    value: &str,
    span: Span,
    sink: &mut FileDiagnostics,
) {
    let relative = Path::new(value);
    let joined = context.base_dir.join(relative);
    let resolved = if relative.is_absolute() {
        Resolved::Outside
    } else {
        context.files.confined.resolve(&joined)
    };
    match resolved {
        Resolved::Outside => sink.report(
            Code::PathEscape,
            span,
            format!(
                "the {} path `{value}` leads outside the checked folder",
                role.name()
            ),
            "outside the checked folder",
            "keep images inside the repository, next to the file that uses them",
        ),
        Resolved::File(canonical) => {
            let path = canonical.unwrap_or_else(|| normalize(&joined));
            check_file(context.files, role, &path, None, span, sink);
        }
        Resolved::Missing | Resolved::Other => sink.report(
            Code::ImageMissing,
            span,
            format!("the {} `{value}` does not exist", role.name()),
            "no such file",
            "local image paths are relative to the file that names them; check the spelling and that the image is committed",
        ),
    }
}

/// Whether `path` lies inside `root` (canonical), both by its components and after following
/// symbolic links.
pub fn path_inside(root: &Path, path: &Path) -> bool {
    let normalized = normalize(path);
    normalized.starts_with(root)
        && normalized
            .canonicalize()
            .map_or(true, |c| c.starts_with(root))
}

/// bcgov's bundles point at their own images through raw.githubusercontent.com URLs. When the end
/// of the URL's path names a file inside the checked folder, that file is the image the wallet
/// downloads, so it can be measured without the network.
fn local_copy_of_url(files: &LocalImages, url: &str) -> Option<PathBuf> {
    let root = files.root();
    let path = url.split_once("://")?.1;
    let path = path.split(['?', '#']).next()?;
    let segments: Vec<String> = path.split('/').skip(1).map(percent_decode).collect();
    if segments
        .iter()
        .any(|s| s == ".." || s.is_empty() && segments.len() == 1)
    {
        return None;
    }
    (0..segments.len()).find_map(|start| {
        let candidate = segments[start..].join("/");
        if candidate.is_empty() {
            return None;
        }
        let path = root.join(&candidate);
        files.is_file(&path).then_some(path)
    })
}

fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = segment.get(i + 1..i + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn check_file(
    files: &LocalImages,
    role: ImageRole,
    path: &Path,
    url: Option<&str>,
    span: Span,
    sink: &mut FileDiagnostics,
) {
    let what = match url {
        Some(_) => format!(
            "the {} (measured from its copy `{}` in the checked folder)",
            role.name(),
            path.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        ),
        None => format!("the {}", role.name()),
    };
    match &files.measure(path).0 {
        Ok((size, shape)) => report_shape(role, shape, *size, &what, span, sink),
        Err(error) => sink.report(
            Code::IoError,
            span,
            format!(
                "the {} `{}` could not be read: {error}",
                role.name(),
                path.display()
            ),
            "unreadable",
            "check the file's permissions",
        ),
    }
}

/// Reads the header of an image file. Only the header is read: image formats state their
/// dimensions near the start, and a JPEG's frame header after its metadata segments is found by
/// seeking.
fn measure_file(path: &Path) -> Measured {
    let opened = std::fs::File::open(path).and_then(|file| {
        let size = file.metadata()?.len();
        let mut reader = BufReader::with_capacity(8 * 1024, file);
        let head = reader.fill_buf()?.to_vec();
        Ok((size, reader, head))
    });
    Measured(match opened {
        Ok((size, mut reader, head)) => Ok((
            size,
            shape_of(&head, || imagesize::reader_size(&mut reader)),
        )),
        Err(error) => Err(error.to_string()),
    })
}

/// The format and dimensions of an image whose first bytes are `bytes`, and whose dimensions
/// `dimensions` reads.
fn shape_of(
    bytes: &[u8],
    dimensions: impl FnOnce() -> imagesize::ImageResult<imagesize::ImageSize>,
) -> Shape {
    use imagesize::ImageType;
    if looks_like_svg(bytes) {
        return Shape::Svg;
    }
    let Ok(format) = imagesize::image_type(bytes) else {
        return Shape::Unrecognised;
    };
    if !matches!(
        format,
        ImageType::Png | ImageType::Jpeg | ImageType::Gif | ImageType::Webp
    ) {
        return Shape::Unsupported(format);
    }
    match dimensions() {
        Ok(dimensions) => Shape::Dimensions(dimensions),
        Err(_) => Shape::Damaged,
    }
}

/// Reports what is wrong with an image of shape `shape` and `size` bytes.
fn report_shape(
    role: ImageRole,
    shape: &Shape,
    size: u64,
    what: &str,
    span: Span,
    sink: &mut FileDiagnostics,
) {
    let dimensions = match shape {
        Shape::Svg => {
            sink.report(
                Code::ImageUnreadable,
                span,
                format!("{what} is an SVG image, which BC Wallet cannot display"),
                "SVG",
                "export the image as PNG (or JPEG for photographs)",
            );
            return;
        }
        Shape::Unrecognised => {
            sink.report(
                Code::ImageUnreadable,
                span,
                format!("{what} is not an image format trustc recognises"),
                "unrecognised image",
                "use a PNG or JPEG file",
            );
            return;
        }
        Shape::Unsupported(format) => {
            sink.report(
                Code::ImageUnreadable,
                span,
                format!(
                    "{what} is a {} image, which wallets cannot display",
                    format!("{format:?}").to_uppercase()
                ),
                "unsupported image format",
                "use a PNG or JPEG file",
            );
            return;
        }
        Shape::Damaged => {
            sink.report(
                Code::ImageUnreadable,
                span,
                format!("{what} is damaged: its dimensions cannot be read"),
                "damaged image",
                "re-export the image",
            );
            return;
        }
        Shape::Dimensions(dimensions) => dimensions,
    };
    if dimensions.width == 0 || dimensions.height == 0 {
        sink.report(
            Code::ImageUnreadable,
            span,
            format!(
                "{what} is damaged: its header says it is {}×{} pixels",
                dimensions.width, dimensions.height
            ),
            "damaged image",
            "re-export the image",
        );
        return;
    }
    if dimensions.width > MAX_SIDE || dimensions.height > MAX_SIDE {
        sink.report(
            Code::ImageUnreadable,
            span,
            format!(
                "{what} says it is {}×{} pixels, more than a wallet can decode (at most {MAX_SIDE} a side): it is damaged, or far too large",
                dimensions.width, dimensions.height
            ),
            "implausible size",
            "re-export the image at the recommended size",
        );
        return;
    }
    let (width, height) = (dimensions.width as f64, dimensions.height as f64);
    let (rec_w, rec_h) = role.recommended();
    let expected = rec_w as f64 / rec_h as f64;
    if height > 0.0 && ((width / height) / expected - 1.0).abs() > RATIO_TOLERANCE {
        sink.report(
            Code::ImageGeometry,
            span,
            format!(
                "{what} is {}×{}; it should have the shape {} ({rec_w}×{rec_h})",
                dimensions.width,
                dimensions.height,
                ratio_name(role)
            ),
            "wrong aspect ratio",
            "wallets scale the image to fill its place and crop what does not fit, so parts of it are cut off; export it at the recommended size",
        );
    } else if width < rec_w as f64 / 2.0 || height < rec_h as f64 / 2.0 {
        sink.report(
            Code::ImageGeometry,
            span,
            format!(
                "{what} is only {}×{}, under half the recommended {rec_w}×{rec_h}",
                dimensions.width, dimensions.height
            ),
            "too small",
            "wallets enlarge small images, which makes them blurry; export it at the recommended size",
        );
    }
    if size > role.budget_bytes() {
        sink.report(
            Code::ImageTooLarge,
            span,
            format!(
                "{what} is {} KiB, over the {} KiB budget for a {}",
                size.div_ceil(1024),
                role.budget_bytes() / 1024,
                role.name()
            ),
            "too large",
            format!(
                "every wallet downloads it; at {rec_w}×{rec_h} a PNG or JPEG fits well under the budget"
            ),
        );
    }
}

/// The largest side of an image that phones decode and draw (the usual maximum texture size of
/// their GPUs); a header claiming more is damaged or hostile.
const MAX_SIDE: usize = 16_384;

fn ratio_name(role: ImageRole) -> &'static str {
    match role {
        ImageRole::Logo => "1:1",
        ImageRole::Background => "3:1",
        ImageRole::Slice => "1:10",
    }
}

fn looks_like_svg(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(1024)];
    let head = head.strip_prefix("\u{feff}".as_bytes()).unwrap_or(head);
    let start = head
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(head.len());
    let head = &head[start..];
    [&b"<?xml"[..], b"<svg", b"<!--"]
        .iter()
        .any(|p| head.starts_with(p))
        && head.windows(4).any(|w| w == b"<svg")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_are_recognised() {
        assert_eq!(scheme_of("ftp://x/logo.png"), Some("ftp"));
        assert_eq!(scheme_of("hl:zQm..."), Some("hl"));
        assert_eq!(scheme_of("images/logo.png"), None);
        assert_eq!(scheme_of("C:/logo.png"), None);
    }

    #[test]
    fn normalize_resolves_parent_components() {
        assert_eq!(
            normalize(Path::new("/a/b/../c/./d.png")),
            PathBuf::from("/a/c/d.png")
        );
        assert_eq!(normalize(Path::new("/a/../../x")), PathBuf::from("/x"));
    }

    #[test]
    fn remote_urls_map_to_local_copies_by_path_suffix() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("OCABundles/x")).unwrap();
        std::fs::write(root.join("OCABundles/x/logo é.png"), b"png").unwrap();
        let url = "https://raw.githubusercontent.com/org/repo/main/OCABundles/x/logo%20%C3%A9.png";
        let files = LocalImages::new(&root);
        assert_eq!(
            local_copy_of_url(&files, url),
            Some(root.join("OCABundles/x/logo é.png"))
        );
        assert_eq!(
            local_copy_of_url(&files, "https://example.org/other.png"),
            None
        );
    }
}

#[cfg(test)]
mod header_tests {
    use super::*;
    use crate::source::{SourceFile, SourcePath};

    /// A PNG of just the signature and an IHDR chunk saying `width`×`height`.
    fn png_header(width: u32, height: u32) -> Vec<u8> {
        let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        bytes.extend(width.to_be_bytes());
        bytes.extend(height.to_be_bytes());
        bytes.extend([8, 6, 0, 0, 0, 0, 0, 0, 0]);
        bytes
    }

    fn messages(bytes: &[u8]) -> Vec<(Code, String)> {
        let file = SourceFile::new(
            SourcePath::new(Path::new("/r"), Path::new("/r/x.yaml")),
            String::new(),
        );
        let mut sink = FileDiagnostics::new(&file);
        let shape = shape_of(bytes, || imagesize::blob_size(bytes));
        report_shape(
            ImageRole::Logo,
            &shape,
            bytes.len() as u64,
            "the logo",
            Span::new(0, 0),
            &mut sink,
        );
        sink.diagnostics
            .into_iter()
            .map(|d| (d.code, d.message))
            .collect()
    }

    #[test]
    fn headers_claiming_impossible_sizes_are_damaged_images() {
        for (width, height) in [(0, 0), (0, 512), (u32::MAX, u32::MAX), (16_385, 16_385)] {
            let found = messages(&png_header(width, height));
            assert_eq!(found.len(), 1, "{width}×{height}: {found:?}");
            assert_eq!(found[0].0, Code::ImageUnreadable, "{found:?}");
            assert!(
                found[0].1.contains(&format!("{width}×{height}")),
                "{found:?}"
            );
        }
        assert!(messages(&png_header(512, 512)).is_empty());
    }
}
