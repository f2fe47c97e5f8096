//! The load benchmark's yardstick: a bare actix-web handler answering `POST /unfurl` with
//! fixed bytes (the cached unfurl response, read from the file given as the first
//! argument), with no token check, routing, cache or logging. `bench/load.sh` runs it
//! beside the real server so both are measured on the same machine in the same run.

use std::process::ExitCode;

use actix_web::{App, HttpResponse, HttpServer, web};

#[actix_web::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(body_file), Some(listen)) = (args.next(), args.next()) else {
        eprintln!("usage: baseline BODY_FILE HOST:PORT [WORKERS]");
        return ExitCode::from(2);
    };
    let workers: usize = args.next().and_then(|w| w.parse().ok()).unwrap_or(2);
    let body = match std::fs::read(&body_file) {
        Ok(body) => web::Bytes::from(body),
        Err(e) => {
            eprintln!("baseline: {body_file}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let server = HttpServer::new(move || {
        let body = body.clone();
        App::new().route(
            "/unfurl",
            // The request body is taken (as the real handler takes it): actix closes a
            // keep-alive connection whose request body was left unread.
            web::post().to(move |_request: web::Bytes| {
                let body = body.clone();
                async move {
                    HttpResponse::Ok()
                        .content_type("application/json")
                        .body(body)
                }
            }),
        )
    })
    .workers(workers)
    .bind(listen.as_str());
    match server {
        Ok(server) => match server.run().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("baseline: {e}");
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("baseline: {listen}: {e}");
            ExitCode::FAILURE
        }
    }
}
