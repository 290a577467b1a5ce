//! W3: a 256 MiB `f64` array saved to and read from the S3 storage (a zarr
//! array of 4 MiB chunks, 16 requests in flight), against the raw limit of
//! the same bytes through aws-sdk-s3: one PUT and one GET, and a multipart
//! upload and ranged GETs of 16 MiB parts with the same 16 in flight.
//! W3-remote is the same with latency added to every request.

use std::path::Path;
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use functionfuse::ndarray::Array2;
use futures::{StreamExt as _, TryStreamExt as _};

use crate::runs::Run;
use crate::s3::{BUCKET, Bench};

/// Requests in flight on both sides (the storage's default concurrency).
const IN_FLIGHT: usize = 16;
/// Part size of the raw multipart upload and ranged GETs.
const PART: usize = 16 << 20;

/// Size of the array: 256 MiB unless `FUNCTIONFUSE_BENCH_W3_MIB` says otherwise.
pub(crate) fn bytes() -> usize {
    crate::runs::mib_from_env("FUNCTIONFUSE_BENCH_W3_MIB", 256)
}

/// Other chunking or compression than the defaults, to measure them:
/// `FUNCTIONFUSE_BENCH_W3_CHUNK_MIB` (rows of 1,024 values to fill that
/// many MiB) and `FUNCTIONFUSE_BENCH_W3_ZSTD` (a zstd level).
fn serializer_options() -> Option<functionfuse::serializer_ndarray::NdarrayOptions> {
    use functionfuse::serializer_ndarray::{Compression, NdarrayOptions};
    let var = |name: &str| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
    };
    let chunk_mib = var("FUNCTIONFUSE_BENCH_W3_CHUNK_MIB");
    let zstd = var("FUNCTIONFUSE_BENCH_W3_ZSTD");
    if chunk_mib.is_none() && zstd.is_none() {
        return None;
    }
    Some(NdarrayOptions {
        chunk: chunk_mib.map(|mib| vec![(mib << 20) / 8 / 1024, 1024]),
        compression: zstd.map_or(Compression::None, |level| Compression::Zstd {
            level: level as i32,
        }),
        ..NdarrayOptions::default()
    })
}

pub(crate) struct Fixture {
    bench: Bench,
    array: Array2<f64>,
    raw: bytes::Bytes,
}

impl Fixture {
    pub(crate) fn new(base: &Path, latency: Duration) -> Self {
        let mut bench = Bench::new(base, "w3");
        if let Some(options) = serializer_options() {
            bench.storage.register_persistent_serializers(
                functionfuse::serializer_ndarray::serializers(&options),
            );
        }
        let rows = bytes() / 8 / 1024;
        let array = Array2::from_shape_fn((rows, 1024), |(i, j)| (i * 1024 + j) as f64 * 0.25);
        let raw: Vec<u8> = array.iter().flat_map(|v| v.to_le_bytes()).collect();
        let fixture = Self {
            bench,
            array,
            raw: bytes::Bytes::from(raw),
        };
        // Reads need something to read before the first write run.
        fixture.raw_put();
        fixture
            .bench
            .storage
            .save("wf", "array", &fixture.array)
            .expect("save");
        fixture.bench.server.faults().set_latency(latency);
        fixture
    }

    fn raw_put(&self) -> Duration {
        let start = Instant::now();
        self.bench.runtime.block_on(async {
            self.bench
                .client
                .put_object()
                .bucket(BUCKET)
                .key("raw")
                .body(ByteStream::from(self.raw.clone()))
                .send()
                .await
                .expect("PUT");
        });
        start.elapsed()
    }

    fn raw_multipart_put(&self) -> Duration {
        let start = Instant::now();
        self.bench.runtime.block_on(async {
            let client = &self.bench.client;
            let upload = client
                .create_multipart_upload()
                .bucket(BUCKET)
                .key("raw-multipart")
                .send()
                .await
                .expect("create upload");
            let id = upload.upload_id().expect("upload id");
            let parts: Vec<CompletedPart> =
                futures::stream::iter(self.raw.chunks(PART).enumerate())
                    .map(|(index, _)| {
                        let number = index as i32 + 1;
                        let begin = index * PART;
                        let body = self.raw.slice(begin..(begin + PART).min(self.raw.len()));
                        async move {
                            let part = client
                                .upload_part()
                                .bucket(BUCKET)
                                .key("raw-multipart")
                                .upload_id(id)
                                .part_number(number)
                                .body(ByteStream::from(body))
                                .send()
                                .await?;
                            Ok::<_, aws_sdk_s3::Error>(
                                CompletedPart::builder()
                                    .part_number(number)
                                    .set_e_tag(part.e_tag().map(str::to_owned))
                                    .build(),
                            )
                        }
                    })
                    .buffered(IN_FLIGHT)
                    .try_collect()
                    .await
                    .expect("upload parts");
            client
                .complete_multipart_upload()
                .bucket(BUCKET)
                .key("raw-multipart")
                .upload_id(id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(parts))
                        .build(),
                )
                .send()
                .await
                .expect("complete upload");
        });
        start.elapsed()
    }

    fn save(&self) -> Duration {
        let _ = self.bench.storage.remove_task("wf", "array");
        let start = Instant::now();
        self.bench
            .storage
            .save("wf", "array", &self.array)
            .expect("save");
        start.elapsed()
    }

    fn raw_get(&self) -> Duration {
        let start = Instant::now();
        let bytes = self.bench.runtime.block_on(async {
            let object = self
                .bench
                .client
                .get_object()
                .bucket(BUCKET)
                .key("raw")
                .send()
                .await
                .expect("GET");
            object.body.collect().await.expect("body").into_bytes()
        });
        assert_eq!(bytes.len(), self.raw.len());
        start.elapsed()
    }

    fn raw_ranged_get(&self) -> Duration {
        let start = Instant::now();
        let len = self.raw.len();
        let mut whole = vec![0_u8; len];
        self.bench.runtime.block_on(async {
            let client = &self.bench.client;
            let parts: Vec<(usize, bytes::Bytes)> = futures::stream::iter((0..len).step_by(PART))
                .map(|begin| async move {
                    let end = (begin + PART).min(len);
                    let object = client
                        .get_object()
                        .bucket(BUCKET)
                        .key("raw")
                        .range(format!("bytes={begin}-{}", end - 1))
                        .send()
                        .await
                        .expect("ranged GET");
                    (
                        begin,
                        object.body.collect().await.expect("body").into_bytes(),
                    )
                })
                .buffer_unordered(IN_FLIGHT)
                .collect()
                .await;
            for (begin, part) in parts {
                whole[begin..begin + part.len()].copy_from_slice(&part);
            }
        });
        std::hint::black_box(&whole);
        start.elapsed()
    }

    fn read(&self) -> Duration {
        let start = Instant::now();
        std::hint::black_box(
            self.bench
                .storage
                .read_task::<Array2<f64>>("wf", "array")
                .expect("read"),
        );
        start.elapsed()
    }
}

/// The runs of W3, raw before ours.
pub(crate) fn runs(fixture: &Fixture) -> Vec<Run<'_>> {
    vec![
        Run::new("raw_put", || fixture.raw_put()),
        Run::new("raw_multipart_put", || fixture.raw_multipart_put()),
        Run::new("save", || fixture.save()),
        Run::new("raw_get", || fixture.raw_get()),
        Run::new("raw_ranged_get", || fixture.raw_ranged_get()),
        Run::new("read", || fixture.read()),
    ]
}
