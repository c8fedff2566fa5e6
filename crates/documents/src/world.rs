//! The typst `World` of one render: the embedded templates, the fonts, and the data passed in
//! through `sys.inputs` (so data is never spliced into markup).

use std::sync::Arc;

use typst::diag::{FileError, FileResult};
use typst::foundations::{Bytes, Datetime, Dict};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt};

use crate::templates::TEMPLATES;

/// Fonts loaded once and shared by every render.
pub struct Fonts {
    pub book: LazyHash<FontBook>,
    pub fonts: Vec<Font>,
}

impl Fonts {
    pub fn new(fonts: Vec<Font>) -> Self {
        Self { book: LazyHash::new(FontBook::from_fonts(&fonts)), fonts }
    }

    /// Whether a family (lower case, as typst names it) is present.
    pub fn has_family(&self, family: &str) -> bool {
        self.book.families().any(|(name, _)| name.eq_ignore_ascii_case(family))
    }
}

pub struct FormWorld {
    library: LazyHash<Library>,
    fonts: Arc<Fonts>,
    main: FileId,
}

pub fn file_id(name: &str) -> FileId {
    FileId::new(RootedPath::new(VirtualRoot::Project, VirtualPath::new(format!("/{name}")).expect("template path")))
}

impl FormWorld {
    pub fn new(template: &str, inputs: Dict, fonts: Arc<Fonts>) -> Self {
        Self { library: LazyHash::new(Library::builder().with_inputs(inputs).build()), fonts, main: file_id(template) }
    }
}

fn template_text(id: FileId) -> FileResult<&'static str> {
    let path = id.get();
    let not_found = || FileError::NotFound(path.vpath().get_without_slash().into());
    if !matches!(path.root(), VirtualRoot::Project) {
        return Err(not_found());
    }
    let name = path.vpath().get_without_slash();
    TEMPLATES.iter().find(|(n, _)| *n == name).map(|(_, t)| *t).ok_or_else(not_found)
}

impl typst::World for FormWorld {
    fn library(&self) -> &LazyHash<Library> {
        &self.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &self.fonts.book
    }

    fn main(&self) -> FileId {
        self.main
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        Ok(Source::new(id, template_text(id)?.to_owned()))
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        Ok(Bytes::from_string(template_text(id)?))
    }

    fn font(&self, index: usize) -> Option<Font> {
        self.fonts.fonts.get(index).cloned()
    }

    fn today(&self, _offset: Option<typst::foundations::Duration>) -> Option<Datetime> {
        // Forms carry their dates as data; a template never asks for "today".
        None
    }
}
