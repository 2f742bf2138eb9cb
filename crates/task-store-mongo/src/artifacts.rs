//! Artifact bytes in GridFS: upload, download, delete a file (the artifact
//! operations of the `RecordBackend` impl, in the `records` module, keep the
//! record versions pointing at these files).
//!
//! `put_artifact` uploads a new file, then writes a record version pointing at it,
//! then deletes the file it replaced. A reader follows the file id of the
//! version it read; if that file is deleted under it (replaced or deleted
//! meanwhile), it reads the record again and follows the new id. A process
//! that dies mid-way leaves at most an unreferenced file, never a reference
//! to a partial one.
//!
//! The bucket is [`ARTIFACT_BUCKET`] (collections `artifacts.files` and
//! `artifacts.chunks`, the driver's default 255 KiB chunks). A file's
//! metadata names its experiment, record and artifact, and its filename is
//! `experiment/record/name`, so the files can be found with ordinary GridFS
//! tools; taskpool itself only follows the file ids the record versions hold.

use futures::io::{AsyncReadExt, AsyncWriteExt};
use mongodb::bson::oid::ObjectId;
use mongodb::bson::{Bson, doc};
use mongodb::error::{ErrorKind as DriverKind, GridFsErrorKind};
use mongodb::options::GridFsUploadOptions;
use task_store::{Error, RecordId, Result};

use crate::records::document::record_oid;
use crate::store::MongoStore;

/// The GridFS bucket holding artifact bytes.
pub const ARTIFACT_BUCKET: &str = "artifacts";

/// How many chunks one write hands to the driver: it inserts them in one
/// `insert_many` (about 4 MiB per round trip).
const CHUNKS_PER_WRITE: usize = 16;

/// The driver's GridFS chunk size (255 KiB).
const CHUNK_BYTES: usize = 255 * 1024;

impl MongoStore {
    /// Store `data` as a new GridFS file for artifact `name` of record `id`;
    /// returns the file's id. On failure the driver removes what it wrote.
    pub(crate) async fn upload_file(
        &self,
        experiment: &str,
        id: RecordId,
        name: &str,
        data: &[u8],
    ) -> Result<ObjectId> {
        let file = ObjectId::new();
        let what = "writing an artifact";
        let options = GridFsUploadOptions::builder()
            .metadata(doc! {"experiment": experiment, "record": record_oid(id), "name": name})
            .build();
        let mut upload = self
            .artifact_bucket()
            .open_upload_stream(format!("{experiment}/{id}/{name}"))
            .id(Bson::ObjectId(file))
            .with_options(options)
            .await
            .map_err(self.err(what))?;
        for piece in data.chunks(CHUNKS_PER_WRITE * CHUNK_BYTES) {
            if let Err(e) = upload.write_all(piece).await {
                return Err(self.io_err(what, e));
            }
        }
        upload.close().await.map_err(|e| self.io_err(what, e))?;
        Ok(file)
    }

    /// The bytes of file `file` (of `len` bytes), or `None` if the file is
    /// gone or being deleted (an artifact replaced or deleted meanwhile).
    pub(crate) async fn download_file(&self, file: ObjectId, len: u64) -> Result<Option<Vec<u8>>> {
        let what = "reading an artifact";
        let mut download = match self
            .artifact_bucket()
            .open_download_stream(Bson::ObjectId(file))
            .await
        {
            Ok(d) => d,
            Err(e) if vanished(&e) => return Ok(None),
            Err(e) => return Err(self.err(what)(e)),
        };
        let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        match download.read_to_end(&mut bytes).await {
            Ok(_) => Ok(Some(bytes)),
            Err(e) => match driver_error(e) {
                Ok(e) if vanished(&e) => Ok(None),
                Ok(e) => Err(self.err(what)(e)),
                Err(e) => Err(Error::backend(format!("MongoDB {what} failed: {e}"))),
            },
        }
    }

    /// Delete file `file`; a file already gone is fine. A failure is logged,
    /// not returned: the file is unreferenced, so it only takes space.
    pub(crate) async fn delete_file(&self, file: ObjectId) {
        match self.artifact_bucket().delete(Bson::ObjectId(file)).await {
            Ok(()) => {}
            Err(e) if vanished(&e) => {}
            Err(e) => {
                let e = self.err("deleting an artifact file")(e);
                tracing::warn!(file = %file.to_hex(), error = %e, "unreferenced artifact file left in place");
            }
        }
    }

    /// A driver error carried in an I/O error of a GridFS stream.
    fn io_err(&self, what: &str, e: std::io::Error) -> Error {
        match driver_error(e) {
            Ok(e) => self.err(what)(e),
            Err(e) => Error::backend(format!("MongoDB {what} failed: {e}")),
        }
    }
}

/// The driver error inside an I/O error of a GridFS stream, or the I/O error.
fn driver_error(e: std::io::Error) -> std::result::Result<mongodb::error::Error, std::io::Error> {
    let kind = e.kind();
    match e.into_inner() {
        Some(inner) => inner
            .downcast::<mongodb::error::Error>()
            .map(|driver| *driver)
            .map_err(std::io::Error::other),
        None => Err(std::io::Error::from(kind)),
    }
}

/// Whether a GridFS error says the file (or part of it) is not there.
fn vanished(e: &mongodb::error::Error) -> bool {
    matches!(
        e.kind.as_ref(),
        DriverKind::GridFs(
            GridFsErrorKind::FileNotFound { .. }
                | GridFsErrorKind::MissingChunk { .. }
                | GridFsErrorKind::WrongNumberOfChunks { .. }
        )
    )
}
