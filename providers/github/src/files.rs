//! The file a code permalink names: its ref found among the link's segments
//! ([`blob::splits`]), what kind of ref that is ([`RefKind`]), and the preview of the
//! selected lines.
//!
//! Requests: a full commit id is one read of the contents. Any other ref is read as
//! the contents at that ref and, side by side, `git/ref/heads/{ref}` (is it a branch?).
//! When GitHub answers that the ref names no commit ([`Failure::NoSuchRef`]), the next
//! longer ref is tried the same way: a branch `feature/x` costs two rounds of two
//! requests the first time. Where the ref was found is remembered (per identity), so
//! the next read of the link (a refresh after a push) tries that split first and costs
//! one round; should that ref be gone, the others are tried from the shortest. A missing
//! file or repository ("Not Found") ends the search at its first answer, so a link
//! nobody can see costs what any other link costs.

use std::sync::Arc;

use notion_unfurl_sdk::Preview;

use crate::api::{Credential, Failure, Identity};
use crate::blob::{self, BranchAnswer, FileText, RefKind};
use crate::links::{Lines, Link};
use crate::provider::{CACHE_TTL, Caller, GitHub, STALE_TTL};

/// A permalink's file, found at one of its candidate refs.
struct Found {
    file: Arc<FileText>,
    /// The ref and the path it leaves, percent-encoded as in the link.
    reference: String,
    path: String,
    kind: RefKind,
}

impl GitHub {
    /// The lines a code permalink selects, from the file at its ref.
    pub(crate) async fn build_blob(
        &self,
        link: &Link,
        reference: &str,
        path: &str,
        lines: Option<Lines>,
        caller: Caller<'_>,
    ) -> Result<Preview, Failure> {
        let who = caller.credential();
        let repository = link.repository_api_path();
        let candidates = blob::splits(reference, path);
        let split_key = (
            who.identity().clone(),
            format!("{repository}/{reference}/{path}"),
        );
        let read = self.find_file(&who, &repository, &candidates, &split_key);
        let (found, scope) = self
            .visible(&who, link, caller, read, || {
                self.ref_splits.invalidate(&split_key);
                for (name, path) in &candidates {
                    let contents = blob::api_path(&repository, name, path);
                    self.api.files.forget(who.identity(), &contents);
                    let branch = blob::branch_api_path(&repository, name);
                    self.api.refs.forget(who.identity(), &branch);
                }
            })
            .await?;
        let preview = Preview::new(blob::attributes(
            &found.file,
            &link.full_name(),
            (&found.reference, found.kind),
            &found.path,
            lines,
        ))
        .scope(scope);
        // The branch read passed out: the label is a guess, to be read again soon.
        Ok(if found.kind == RefKind::Unknown {
            preview.ttl(STALE_TTL).stale()
        } else {
            preview.ttl(CACHE_TTL)
        })
    }

    /// The first of `candidates` (ref, path) whose ref GitHub knows, read; the one found
    /// under `split_key` last time is tried first.
    async fn find_file(
        &self,
        who: &Credential<'_>,
        repository: &str,
        candidates: &[(String, String)],
        split_key: &(Identity, String),
    ) -> Result<Arc<Found>, Failure> {
        let known = self
            .ref_splits
            .get(split_key)
            .filter(|at| *at < candidates.len());
        let order = known
            .into_iter()
            .chain((0..candidates.len()).filter(|at| Some(*at) != known));
        let mut failure = Failure::NotVisible;
        for at in order {
            let (name, path) = &candidates[at];
            let decoded = blob::decoded(name);
            let contents_path = blob::api_path(repository, name, path);
            let contents = self.api.get(&self.api.files, who, &contents_path);
            let (file, branch) = if blob::is_commit(&decoded) {
                (contents.await, None)
            } else {
                let branch_path = blob::branch_api_path(repository, name);
                let (file, branch) =
                    tokio::join!(contents, self.api.get(&self.api.refs, who, &branch_path));
                (file, Some(branch))
            };
            match file {
                Ok(file) => {
                    let answer = match &branch {
                        None => BranchAnswer::NotRead,
                        Some(Ok(found)) => BranchAnswer::Found(&found.full_name),
                        Some(Err(failure)) if failure.is_transient() => BranchAnswer::Interrupted,
                        Some(Err(_)) => BranchAnswer::Missing,
                    };
                    let kind = RefKind::of(&decoded, answer);
                    // A one-segment ref is tried first anyway.
                    if at > 0 {
                        self.ref_splits.insert(split_key.clone(), at);
                    } else if known.is_some() {
                        self.ref_splits.invalidate(split_key);
                    }
                    return Ok(Arc::new(Found {
                        file,
                        reference: name.clone(),
                        path: path.clone(),
                        kind,
                    }));
                }
                Err(Failure::NoSuchRef) => failure = Failure::NoSuchRef,
                Err(other) => return Err(other),
            }
        }
        Err(failure)
    }
}
