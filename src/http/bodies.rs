//! What holds every request body, around every handler (security.md "Slow and hostile
//! clients").
//!
//! Handlers read bodies through `request::read_limited`, which bounds their size and the
//! time they take. Two things no handler can do are done here instead:
//!
//! - One client address may be sending only so many bodies at once
//!   (`UNFURL_MAX_BODIES_PER_ADDRESS`, keyed like the rate limits): a request beyond that
//!   is answered `429` at once, its body unread. A body that is already whole when the
//!   request comes in (up to [`EAGER_MAX_BYTES`], already in actix's buffer) is taken as it
//!   is and needs no share: a client that sends its bodies whole (Notion, GitHub, a
//!   browser) never comes near the bound, however many requests it has running and
//!   however long their answers take. Other bodies hold a share until they have arrived
//!   or the request is answered.
//! - A connection whose body was not read to its end is closed once the answer is written.
//!   actix-http closes it itself only while the body is still held somewhere; once a
//!   handler has dropped it, a chunked body is drained for as long as the sender cares to
//!   dribble it, with no deadline at all (`should_close_for_unread_payload` in its h1
//!   dispatcher). So the body is kept here, inside the response, until the answer is out.

use std::cell::{Cell, RefCell};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use actix_web::body::{BodySize, BoxBody, EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes};
use actix_web::{Error, HttpMessage, HttpResponse, ResponseError};
use futures_util::{FutureExt, Stream, StreamExt};

use crate::http::error_json::ErrorJson;
use crate::http::limits::{Limits, Share};

/// Why a request was refused before its handler saw it.
#[derive(Debug, thiserror::Error)]
pub enum BodyRefusal {
    #[error("too many request bodies are arriving from this address; retry shortly")]
    TooManyFromAddress,
    #[error("the server is not set up to read request bodies")]
    NoLimits,
}

impl ResponseError for BodyRefusal {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::TooManyFromAddress => StatusCode::TOO_MANY_REQUESTS,
            Self::NoLimits => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        let code = match self {
            Self::TooManyFromAddress => {
                // A share comes back as soon as one of the address's bodies arrives.
                response.insert_header((header::RETRY_AFTER, HeaderValue::from_static("1")));
                "too_many_requests"
            }
            Self::NoLimits => "internal_error",
        };
        response.json(ErrorJson {
            error: code,
            message: self.to_string(),
        })
    }
}

/// The middleware (`actix_web::middleware::from_fn(guard)`, wrapped around every route).
pub async fn guard<B: MessageBody + 'static>(
    mut req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B, HeldOpen>>, Error> {
    let mut payload = req.take_payload();
    if matches!(payload, Payload::None) {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let mut early = Vec::new();
    let mut arrived = already_arrived(&mut payload, &mut early);
    if arrived == Arrived::NotYet {
        // actix calls the service as soon as it has parsed the head, before it hands the
        // body bytes that came with it to the payload; once this yields, it does.
        tokio::task::yield_now().await;
        arrived = already_arrived(&mut payload, &mut early);
    }
    if arrived == Arrived::Whole {
        // Nothing more will come on this request: nothing to share, nothing to hold open.
        let body: Vec<Bytes> = early.into_iter().filter_map(Result::ok).collect();
        let body = match body.as_slice() {
            [one] => one.clone(),
            _ => Bytes::from(body.concat()),
        };
        req.set_payload(Payload::from(body));
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let share = match req.app_data::<web::Data<Limits>>() {
        Some(limits) => limits
            .arriving_bodies
            .try_take(limits.client(req.request())),
        None => {
            tracing::error!("the limits are not registered; refusing request bodies");
            return Ok(refuse(req, BodyRefusal::NoLimits, payload));
        }
    };
    let Some(share) = share else {
        tracing::info!("refused: too many request bodies arriving from this address");
        return Ok(refuse(req, BodyRefusal::TooManyFromAddress, payload));
    };
    let arriving = Rc::new(Arriving {
        payload: RefCell::new(payload),
        ended: Cell::new(false),
        share: Cell::new(Some(share)),
    });
    let stream: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> =
        Box::pin(futures_util::stream::iter(early).chain(ArrivingBody(arriving.clone())));
    req.set_payload(Payload::from(stream));
    // Routes answer their errors as responses; an `Err` here comes from no handler, and
    // cannot be answered without the request (which routing needs unshared).
    let response = next.call(req).await?;
    // Answered: whatever is still to come holds nothing but the connection, which closes.
    drop(arriving.share.take());
    if arriving.ended.get() {
        return Ok(response.map_into_left_body());
    }
    Ok(response
        .map_body(|_, body| HeldOpen::new(body.boxed(), arriving))
        .map_into_right_body())
}

/// The most of a body [`guard`] takes from actix's buffer before the handler asks for it.
pub const EAGER_MAX_BYTES: usize = 64 * 1024;

/// How much of a body [`already_arrived`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arrived {
    /// All of it: the end was seen.
    Whole,
    /// Some or none; more may come.
    NotYet,
    /// More than [`EAGER_MAX_BYTES`], or an error: left to the handler.
    Stop,
}

/// Moves what of the body is already in actix's buffer into `early`, without waiting for
/// more, and says whether that is all of it. At most about [`EAGER_MAX_BYTES`] are taken;
/// the chunks are handed on in order, an error included, so the handler reads the same
/// stream either way.
fn already_arrived(payload: &mut Payload, early: &mut Vec<Result<Bytes, PayloadError>>) -> Arrived {
    let mut taken: usize = early.iter().flatten().map(Bytes::len).sum();
    loop {
        if taken > EAGER_MAX_BYTES {
            return Arrived::Stop;
        }
        // A stream that has nothing yet answers `Pending` here; the handler's first poll
        // registers its own waker.
        match payload.next().now_or_never() {
            Some(Some(Ok(chunk))) => {
                taken += chunk.len();
                early.push(Ok(chunk));
            }
            Some(Some(Err(e))) => {
                early.push(Err(e));
                return Arrived::Stop;
            }
            Some(None) => return Arrived::Whole,
            None => return Arrived::NotYet,
        }
    }
}

fn refuse<B>(
    req: ServiceRequest,
    refusal: BodyRefusal,
    payload: Payload,
) -> ServiceResponse<EitherBody<B, HeldOpen>> {
    let unread = Rc::new(Arriving {
        payload: RefCell::new(payload),
        ended: Cell::new(false),
        share: Cell::new(None),
    });
    req.error_response(refusal)
        .map_body(|_, body| HeldOpen::new(body, unread))
        .map_into_right_body()
}

/// A request body on its way in, shared by the handler's stream and this module.
struct Arriving {
    payload: RefCell<Payload>,
    /// The body was read to its end (or failed): actix holds nothing more of it.
    ended: Cell<bool>,
    share: Cell<Option<Share>>,
}

/// The body as the handler reads it.
struct ArrivingBody(Rc<Arriving>);

impl Stream for ArrivingBody {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let arriving = &self.0;
        let next = Pin::new(&mut *arriving.payload.borrow_mut()).poll_next(cx);
        if matches!(next, Poll::Ready(None | Some(Err(_)))) {
            arriving.ended.set(true);
            drop(arriving.share.take());
        }
        next
    }
}

/// A response body that keeps an unread request body alive until it has been written, so
/// that actix closes the connection after it instead of draining the rest.
pub struct HeldOpen {
    body: BoxBody,
    _unread: Rc<Arriving>,
}

impl HeldOpen {
    fn new(body: BoxBody, unread: Rc<Arriving>) -> Self {
        Self {
            body,
            _unread: unread,
        }
    }
}

impl MessageBody for HeldOpen {
    type Error = <BoxBody as MessageBody>::Error;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Pin::new(&mut self.body).poll_next(cx)
    }
}

#[cfg(test)]
mod tests {
    use actix_web::middleware::from_fn;
    use actix_web::{App, test};

    use super::*;
    use crate::platform::config::Settings;

    /// A handler that answers slowly and reads its body only at the end (as a handler busy
    /// with other work before it gets to the body would).
    async fn slow_echo(payload: web::Payload) -> HttpResponse {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        match payload.to_bytes().await {
            Ok(body) => HttpResponse::Ok().body(body),
            Err(_) => HttpResponse::BadRequest().finish(),
        }
    }

    fn limits(per_address: &str) -> web::Data<Limits> {
        let settings = Settings::from_vars([(
            "UNFURL_MAX_BODIES_PER_ADDRESS".to_owned(),
            per_address.to_owned(),
        )])
        .unwrap_or_else(|e| panic!("settings: {e}"));
        web::Data::new(Limits::new(&settings))
    }

    #[actix_web::test]
    async fn bodies_that_arrived_whole_need_no_share_however_many_are_running() {
        let limits = limits("1");
        let app = test::init_service(
            App::new()
                .app_data(limits.clone())
                .wrap(from_fn(guard))
                .route("/", web::post().to(slow_echo)),
        )
        .await;
        let requests = (0..4).map(|i| {
            let req = test::TestRequest::post()
                .uri("/")
                .peer_addr("192.0.2.1:4000".parse().unwrap_or_else(|_| unreachable!()))
                .set_payload(format!("body {i}"))
                .to_request();
            test::call_service(&app, req)
        });
        let answers = futures_util::future::join_all(requests).await;
        for (i, answer) in answers.into_iter().enumerate() {
            assert_eq!(answer.status(), StatusCode::OK);
            assert_eq!(test::read_body(answer).await, format!("body {i}"));
        }
        assert_eq!(
            limits
                .arriving_bodies
                .held("192.0.2.1".parse().unwrap_or_else(|_| unreachable!())),
            0
        );
    }

    /// A body that arrives in two parts: the first now, the second when `rest` is sent.
    fn arriving_body(first: &'static str) -> (tokio::sync::mpsc::UnboundedSender<Bytes>, Payload) {
        let (rest, receiver) = tokio::sync::mpsc::unbounded_channel::<Bytes>();
        let head = futures_util::stream::iter([Ok(Bytes::from_static(first.as_bytes()))]);
        let tail = futures_util::stream::unfold(receiver, |mut receiver| async move {
            receiver.recv().await.map(|chunk| (Ok(chunk), receiver))
        });
        let stream: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> =
            Box::pin(head.chain(tail));
        (rest, Payload::from(stream))
    }

    #[actix_web::test]
    async fn a_body_still_arriving_holds_a_share_until_it_has_arrived() {
        let limits = limits("1");
        let app = test::init_service(
            App::new()
                .app_data(limits.clone())
                .wrap(from_fn(guard))
                .route("/", web::post().to(slow_echo)),
        )
        .await;
        let address: std::net::SocketAddr =
            "192.0.2.2:4000".parse().unwrap_or_else(|_| unreachable!());
        let partial = |first| {
            let (rest, payload) = arriving_body(first);
            let (req, _) = test::TestRequest::post()
                .uri("/")
                .peer_addr(address)
                .to_request()
                .replace_payload(payload);
            (rest, req)
        };
        let (rest, first) = partial("first half, ");
        let first = test::call_service(&app, first);
        let others = async {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            // The first request holds the address's one share while its body arrives: a
            // second body still arriving is refused, a whole one is not.
            let (_unsent, second) = partial("second ");
            let refused = test::call_service(&app, second).await;
            let whole = test::call_service(
                &app,
                test::TestRequest::post()
                    .uri("/")
                    .peer_addr(address)
                    .set_payload("whole")
                    .to_request(),
            )
            .await;
            let statuses = (refused.status(), whole.status());
            let _ = rest.send(Bytes::from_static(b"second half"));
            drop(rest);
            statuses
        };
        let (first, (refused, whole)) = futures_util::join!(first, others);
        assert_eq!(refused, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(whole, StatusCode::OK);
        assert_eq!(first.status(), StatusCode::OK);
        assert_eq!(test::read_body(first).await, "first half, second half");
        assert_eq!(limits.arriving_bodies.held(address.ip()), 0);
    }
}
