//! A TCP proxy between the application and PostgreSQL that a test can cut and restore: a
//! real database outage as the application sees it (connections dropped, new ones refused)
//! without stopping the server other tests share.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicBool, Ordering},
};

use tokio::{
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};
use wvs::config::DatabaseUrl;

/// The proxy; dropping it stops it.
pub struct DbProxy {
    open: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl DbProxy {
    /// Starts a proxy to the server `url` names and returns it with the URL that goes
    /// through it. Call from within the Tokio runtime.
    pub fn in_front_of(url: &DatabaseUrl) -> (DbProxy, DatabaseUrl) {
        let url = url.expose().to_owned();
        let after_at = url
            .find('@')
            .map_or(url.find("://").expect("url") + 3, |at| at + 1);
        let host_end = after_at + url[after_at..].find('/').expect("database path");
        let upstream = url[after_at..host_end].to_owned();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        listener.set_nonblocking(true).expect("nonblocking");
        let local = listener.local_addr().expect("addr");
        let listener = TcpListener::from_std(listener).expect("tokio listener");
        let open = Arc::new(AtomicBool::new(true));
        let connections = Arc::new(Mutex::new(Vec::new()));
        let accept = tokio::spawn({
            let open = open.clone();
            let connections = connections.clone();
            async move {
                while let Ok((mut inbound, _)) = listener.accept().await {
                    if !open.load(Ordering::SeqCst) {
                        continue; // dropped: the client sees the connection closed
                    }
                    let upstream = upstream.clone();
                    let relay = tokio::spawn(async move {
                        if let Ok(mut outbound) = TcpStream::connect(upstream).await {
                            let _ =
                                tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        }
                    });
                    connections.lock().expect("lock").push(relay);
                }
            }
        });
        let routed = format!("{}{local}{}", &url[..after_at], &url[host_end..]);
        (
            DbProxy {
                open,
                connections,
                accept,
            },
            DatabaseUrl::parse(&routed).expect("routed url"),
        )
    }

    /// The database goes away: open connections are cut, new ones refused.
    pub fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        for relay in self.connections.lock().expect("lock").drain(..) {
            relay.abort();
        }
    }

    /// The database is back.
    pub fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

impl Drop for DbProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}
