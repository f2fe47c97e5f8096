//! A fast local origin for the cold-unfurl benchmark (`bench/cold.sh`): `GET /page/{i}`
//! (any query) answers the `i`-th page of a directory, modulo the number of pages, as
//! `text/html`. The directory is either a corpus (one `<case>/page.html` per case) or a
//! folder of `.html` files. Pages are read once at start and served from memory, so the
//! origin costs little beside the server it feeds.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use actix_web::{App, HttpResponse, HttpServer, web};

fn pages_in(dir: &Path) -> std::io::Result<Vec<web::Bytes>> {
    let mut paths: Vec<PathBuf> = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let nested = path.join("page.html");
        if nested.is_file() {
            paths.push(nested);
        } else if path.extension().is_some_and(|e| e == "html") {
            paths.push(path);
        }
    }
    paths.sort();
    paths
        .iter()
        .map(|p| std::fs::read(p).map(web::Bytes::from))
        .collect()
}

#[actix_web::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(dir), Some(listen)) = (args.next(), args.next()) else {
        eprintln!("usage: pages DIR HOST:PORT");
        return ExitCode::from(2);
    };
    let pages = match pages_in(Path::new(&dir)) {
        Ok(pages) if !pages.is_empty() => Arc::new(pages),
        Ok(_) => {
            eprintln!("pages: no pages in {dir}");
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("pages: {dir}: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("pages: serving {} pages", pages.len());
    let server = HttpServer::new(move || {
        let pages = pages.clone();
        App::new().route(
            "/page/{i}",
            web::get().to(move |i: web::Path<usize>| {
                let page = pages[i.into_inner() % pages.len()].clone();
                async move {
                    HttpResponse::Ok()
                        .content_type("text/html; charset=utf-8")
                        .body(page)
                }
            }),
        )
    })
    .workers(1)
    .bind(listen.as_str());
    match server {
        Ok(server) => match server.run().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("pages: {e}");
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("pages: {listen}: {e}");
            ExitCode::FAILURE
        }
    }
}
