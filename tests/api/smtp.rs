//! A real SMTP listener on loopback for the tests: the service talks SMTP to it through
//! `lettre`; tests read what arrived, and can make it refuse service (a mail server down).

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use base64::Engine;
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpListener,
    sync::watch,
};

/// One received message.
#[derive(Debug, Clone)]
pub struct Received {
    pub to: Vec<String>,
    pub data: String,
}

impl Received {
    /// A header's value (first occurrence, unfolded).
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next()?;
        let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
        unfolded.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    }

    pub fn subject(&self) -> String {
        self.header("Subject").unwrap_or_default()
    }

    /// Every text part's body, decoded, concatenated.
    pub fn body(&self) -> String {
        self.parts("text/")
    }

    /// The HTML part, decoded.
    pub fn html(&self) -> String {
        self.parts("text/html")
    }

    /// The bodies of the parts whose content type starts with `kind`, decoded (7bit,
    /// quoted-printable or base64), concatenated.
    fn parts(&self, kind: &str) -> String {
        let mut out = String::new();
        for part in self.data.split("\r\n--") {
            let Some((head, body)) = part.split_once("\r\n\r\n") else {
                continue;
            };
            let head = head.to_ascii_lowercase();
            if !head.contains(&format!("content-type: {kind}")) {
                continue;
            }
            let body = body.split("\r\n--").next().unwrap_or_default();
            if head.contains("content-transfer-encoding: base64") {
                let joined: String = body.split_whitespace().collect();
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(joined)
                    .unwrap_or_default();
                out.push_str(&String::from_utf8_lossy(&bytes));
            } else if head.contains("content-transfer-encoding: quoted-printable") {
                out.push_str(&decode_quoted_printable(body));
            } else {
                out.push_str(body);
            }
            out.push('\n');
        }
        out
    }
}

fn decode_quoted_printable(text: &str) -> String {
    let joined = text.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(byte) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
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

/// The listener and what it received.
pub struct SmtpServer {
    pub port: u16,
    accepting: Arc<AtomicBool>,
    received: Arc<Mutex<Vec<Received>>>,
    count: watch::Receiver<usize>,
}

impl SmtpServer {
    pub async fn start() -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind smtp");
        let port = listener.local_addr().expect("addr").port();
        let accepting = Arc::new(AtomicBool::new(true));
        let received = Arc::new(Mutex::new(Vec::new()));
        let (counter, count) = watch::channel(0usize);
        let counter = Arc::new(counter);
        let (accepting_task, received_task) = (accepting.clone(), received.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (accepting, received, counter) = (
                    accepting_task.clone(),
                    received_task.clone(),
                    counter.clone(),
                );
                tokio::spawn(async move {
                    let _ = session(stream, accepting, received, counter).await;
                });
            }
        });
        SmtpServer {
            port,
            accepting,
            received,
            count,
        }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// While false, every connection is answered "421 service not available".
    pub fn set_accepting(&self, accepting: bool) {
        self.accepting.store(accepting, Ordering::SeqCst);
    }

    pub fn messages(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }

    /// Forgets what arrived so far.
    pub fn clear(&self) {
        self.received.lock().expect("lock").clear();
    }

    /// Waits until at least `n` messages are held (30 s is a failure bound, not a timing).
    pub async fn wait_for_messages(&self, n: usize) {
        let mut count = self.count.clone();
        let received = self.received.clone();
        let arrived =
            count.wait_for(move |_| received.lock().map(|held| held.len() >= n).unwrap_or(false));
        tokio::time::timeout(Duration::from_secs(30), arrived)
            .await
            .expect("mail did not arrive within 30 s")
            .expect("smtp server alive");
    }
}

async fn session(
    stream: tokio::net::TcpStream,
    accepting: Arc<AtomicBool>,
    received: Arc<Mutex<Vec<Received>>>,
    counter: Arc<watch::Sender<usize>>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    if !accepting.load(Ordering::SeqCst) {
        write
            .write_all(b"421 4.3.2 Service not available\r\n")
            .await?;
        return Ok(());
    }
    write.write_all(b"220 localhost ESMTP test\r\n").await?;
    let mut to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_ascii_uppercase();
        let reply: &[u8] = if command.starts_with("EHLO") {
            b"250-localhost\r\n250 8BITMIME\r\n"
        } else if command.starts_with("HELO")
            || command.starts_with("MAIL FROM")
            || command.starts_with("NOOP")
        {
            b"250 OK\r\n"
        } else if command.starts_with("RSET") {
            to.clear();
            b"250 OK\r\n"
        } else if command.starts_with("RCPT TO") {
            to.push(
                line.trim_end()[8..]
                    .trim()
                    .trim_matches(['<', '>'])
                    .to_owned(),
            );
            b"250 OK\r\n"
        } else if command == "DATA" {
            write
                .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                .await?;
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                data.push_str(
                    line.strip_prefix('.')
                        .filter(|_| line.starts_with(".."))
                        .unwrap_or(&line),
                );
            }
            received.lock().expect("lock").push(Received {
                to: std::mem::take(&mut to),
                data,
            });
            counter.send_modify(|count| *count += 1);
            b"250 OK queued\r\n"
        } else if command.starts_with("QUIT") {
            write.write_all(b"221 Bye\r\n").await?;
            return Ok(());
        } else {
            b"502 Command not implemented\r\n"
        };
        write.write_all(reply).await?;
    }
}
