//! What Rust writes, other tools read: h5py and the HDF Group's h5dump read
//! the arrays, Python's msgpack reads the records with the snippet of
//! docs/format.md. Values are compared, not just opened.
//!
//! These tests need h5dump and a Python with h5py, numpy and msgpack;
//! `cargo xtask ci` installs them and runs the tests with `--ignored`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_wrap)]

use std::path::{Path, PathBuf};

use functionfuse::ndarray::{self, Array0, Array1, Array2, Array3, ShapeBuilder};
use functionfuse::serializer_ndarray::{ArrayStorage, Compression, NdarrayOptions};
use functionfuse::{Persistent, Storage, record};
use functionfuse_tests::{file_storage, python, run, s3_server, s3_storage, scripts};
use serde::Serialize;
use serde_json::{Value, json};

const WF: &str = "interop";

/// The HDF5 file behind the whole-array result of `task`.
fn array_file(storage: &Storage, root: &Path, task: &str) -> PathBuf {
    let bytes = storage.backend().get(WF, task).unwrap().unwrap();
    let header = record::decode(&bytes).unwrap().header;
    root.join(WF)
        .join("bigdata")
        .join(&header.persistent_ids[0].location)
}

fn h5py_json(file: &Path) -> Value {
    let script = scripts().join("read_array.py");
    let out = run(
        &python(),
        &[script.to_str().unwrap(), file.to_str().unwrap()],
    );
    serde_json::from_str(&out).unwrap()
}

fn check_h5py<T: Serialize>(
    storage: &Storage,
    root: &Path,
    task: &str,
    dtype: &str,
    shape: &[usize],
    values: &[T],
) {
    let file = array_file(storage, root, task);
    let seen = h5py_json(&file);
    let bytes = storage.backend().get(WF, task).unwrap().unwrap();
    let pid = &record::decode(&bytes).unwrap().header.persistent_ids[0];
    assert_eq!(
        seen["crc32c"], pid.metadata["crc32c"],
        "{task}: Python's CRC-32C"
    );
    assert_eq!(seen["members"], json!(["array"]), "{task}");
    assert_eq!(seen["dtype"], dtype, "{task}");
    assert_eq!(seen["shape"], json!(shape), "{task}");
    assert_eq!(seen["values"], json!(values), "{task}");
    assert_eq!(
        seen["attrs"]["functionfuse_serializer"], "ndarray",
        "{task}"
    );
    assert_eq!(seen["attrs"]["functionfuse_format_version"], 1, "{task}");
}

#[test]
#[ignore = "needs h5dump and a Python with h5py and msgpack: run `cargo xtask ci`"]
fn h5py_reads_every_kind_of_array() {
    let (storage, dir) = file_storage();
    let root = dir.path();

    let f64s = Array2::from_shape_fn((3, 4), |(i, j)| (i as f64 - 1.5) * 1e-3 + j as f64 * 7.25);
    storage.save(WF, "f64", &f64s).unwrap();
    check_h5py(
        &storage,
        root,
        "f64",
        "float64",
        &[3, 4],
        f64s.as_slice().unwrap(),
    );

    // Written block by block: contiguous (raw writes after libhdf5 laid the
    // file out), and chunked and compressed (through libhdf5).
    let rows = Array2::from_shape_fn((300, 5), |(i, j)| (i * 5 + j) as i64 - 700);
    for (task, options) in [
        ("blocks", NdarrayOptions::default()),
        (
            "blocks-packed",
            NdarrayOptions {
                chunk: Some(vec![64, 5]),
                compression: Compression::Deflate { level: 2 },
                ..NdarrayOptions::default()
            },
        ),
    ] {
        let mut writer = storage
            .array_writer_with::<i64>(WF, task, &[300, 5], &options)
            .unwrap();
        for range in [0..7, 7..200, 200..300] {
            writer.write(&rows.slice(ndarray::s![range, ..])).unwrap();
        }
        writer.finish().unwrap();
        check_h5py(
            &storage,
            root,
            task,
            "int64",
            &[300, 5],
            rows.as_slice().unwrap(),
        );
    }

    let i32s = Array3::from_shape_fn((2, 3, 2), |(i, j, k)| (i * 100 + j * 10 + k) as i32 - 50);
    storage.save(WF, "i32", &i32s).unwrap();
    check_h5py(
        &storage,
        root,
        "i32",
        "int32",
        &[2, 3, 2],
        i32s.as_slice().unwrap(),
    );

    let fortran = Array2::from_shape_vec((2, 3).f(), vec![1_u16, 2, 3, 4, 5, 6]).unwrap();
    storage.save(WF, "fortran", &fortran).unwrap();
    // Logical (C) order of a column-major [[1,3,5],[2,4,6]].
    check_h5py(
        &storage,
        root,
        "fortran",
        "uint16",
        &[2, 3],
        &[1, 3, 5, 2, 4, 6],
    );

    let bools = Array1::from(vec![true, false, false, true]);
    storage.save(WF, "bool", &bools).unwrap();
    check_h5py(
        &storage,
        root,
        "bool",
        "bool",
        &[4],
        bools.as_slice().unwrap(),
    );

    storage
        .save(WF, "scalar", &Array0::from_elem((), 42_u8))
        .unwrap();
    check_h5py(&storage, root, "scalar", "uint8", &[], &[42]);

    storage
        .save(WF, "empty", &Array2::<f32>::zeros((0, 3)))
        .unwrap();
    check_h5py::<f32>(&storage, root, "empty", "float32", &[0, 3], &[]);

    let extremes = Array1::from(vec![i64::MIN, -1, 0, i64::MAX]);
    storage.save(WF, "i64", &extremes).unwrap();
    check_h5py(
        &storage,
        root,
        "i64",
        "int64",
        &[4],
        extremes.as_slice().unwrap(),
    );
}

#[test]
#[ignore = "needs h5dump and a Python with h5py and msgpack: run `cargo xtask ci`"]
fn h5dump_reads_the_values_and_attributes() {
    let (storage, dir) = file_storage();
    let array = Array2::from_shape_fn((50, 40), |(i, j)| (i as f64).sin() * 1000.0 + j as f64);
    storage.save(WF, "m", &array).unwrap();
    let file = array_file(&storage, dir.path(), "m");
    let h5dump = Path::new("h5dump");
    let dump = dir.path().join("dump.bin");
    run(
        h5dump,
        &[
            "-d",
            "/array",
            "-b",
            "LE",
            "-o",
            dump.to_str().unwrap(),
            file.to_str().unwrap(),
        ],
    );
    let expected: Vec<u8> = array.iter().flat_map(|v| v.to_le_bytes()).collect();
    assert_eq!(std::fs::read(&dump).unwrap(), expected);
    let header = run(h5dump, &["-H", "-A", file.to_str().unwrap()]);
    assert!(header.contains("H5T_IEEE_F64LE"), "{header}");
    assert!(
        header.contains("DATASPACE  SIMPLE { ( 50, 40 ) / ( 50, 40 ) }"),
        "{header}"
    );
    assert!(header.contains("\"functionfuse_serializer\""), "{header}");
    assert!(header.contains("\"ndarray\""), "{header}");
}

#[derive(Serialize)]
enum Status {
    Done,
    Failed { code: i32 },
}

#[derive(Serialize)]
struct Report {
    name: String,
    scores: Vec<f64>,
    status: Status,
    retry: Status,
    note: Option<String>,
    matrix: Persistent<Array2<f64>>,
}

/// The Python snippet of docs/format.md, as written there.
fn docs_snippet(dir: &Path) -> PathBuf {
    extract_snippet("format.md", "read_record.py", dir)
}

/// Writes the Python snippet of `docs/<doc>` marked `<!-- <name> -->` to
/// `dir/<name>`, as written in the doc.
fn extract_snippet(doc: &str, name: &str, dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../docs")
            .join(doc),
    )
    .unwrap();
    let marker = format!("<!-- {name} -->\n```python\n");
    let start = text.find(&marker).expect("marked snippet") + marker.len();
    let end = start + text[start..].find("```").unwrap();
    let path = dir.join(name);
    std::fs::write(&path, &text[start..end]).unwrap();
    path
}

#[test]
#[ignore = "needs h5dump and a Python with h5py and msgpack: run `cargo xtask ci`"]
fn python_msgpack_reads_records_with_the_documented_snippet() {
    let (storage, dir) = file_storage();
    let matrix = Array2::from_shape_fn((2, 2), |(i, j)| (i * 2 + j) as f64);
    let report = Report {
        name: "run 1".into(),
        scores: vec![0.5, 0.25],
        status: Status::Done,
        retry: Status::Failed { code: -3 },
        note: None,
        matrix: Persistent(matrix.clone()),
    };
    storage.save(WF, "report", &report).unwrap();
    let snippet = docs_snippet(dir.path());
    let record = dir.path().join(WF).join("report");
    let out = run(
        &python(),
        &[snippet.to_str().unwrap(), record.to_str().unwrap()],
    );
    let seen: Value = serde_json::from_str(&out).unwrap();
    let header = &seen["header"];
    assert!(
        header["type"].as_str().unwrap().ends_with("Report"),
        "{header}"
    );
    assert!(header["created_ns"].as_u64().unwrap() > 1_700_000_000_000_000_000);
    let pid = &header["persistent_ids"][0];
    assert_eq!(pid["serializer"], "ndarray");
    assert_eq!(pid["protocol"], "file_protocol");
    assert_eq!(pid["metadata"]["dtype"], "float64");
    assert_eq!(pid["metadata"]["shape"], json!([2, 2]));
    let payload = &seen["payload"];
    assert_eq!(payload["name"], "run 1");
    assert_eq!(payload["scores"], json!([0.5, 0.25]));
    assert_eq!(payload["status"], "Done");
    assert_eq!(payload["retry"], json!({"Failed": {"code": -3}}));
    assert_eq!(payload["note"], Value::Null);
    assert_eq!(payload["matrix"]["$persistent"], *pid);
    // The id leads to the array.
    let file = dir
        .path()
        .join(WF)
        .join("bigdata")
        .join(pid["location"].as_str().unwrap());
    assert_eq!(h5py_json(&file)["values"], json!([0.0, 1.0, 2.0, 3.0]));

    // The snippet refuses a damaged record.
    let mut bytes = std::fs::read(&record).unwrap();
    bytes[20] ^= 1;
    let damaged = dir.path().join("damaged");
    std::fs::write(&damaged, bytes).unwrap();
    let output = std::process::Command::new(python())
        .args([snippet.to_str().unwrap(), damaged.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("is corrupt"));

    // Rust and the snippet agree: bytes after the payload make a record
    // corrupt, even under a valid checksum.
    let trailing = dir.path().join(WF).join("trailing");
    let record = record::encode(
        &record::RecordHeader {
            type_name: "i32".into(),
            persistent_ids: vec![],
            created_ns: 1,
            key: None,
            fingerprint: None,
            reason: None,
        },
        &[0x01, 0x02],
    )
    .unwrap();
    std::fs::write(&trailing, record).unwrap();
    let error = storage.read_task::<i32>(WF, "trailing").unwrap_err();
    assert!(
        matches!(error, functionfuse::Error::CorruptRecord { .. }),
        "{error}"
    );
    let output = std::process::Command::new(python())
        .args([snippet.to_str().unwrap(), trailing.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("ExtraData"));
}

#[test]
#[ignore = "needs a Python with zarr 3: run `cargo xtask ci`"]
fn zarr_python_reads_arrays_written_to_s3() {
    let (storage, folder) = s3_storage();
    let f64s = Array2::from_shape_fn((300, 7), |(i, j)| i as f64 * 0.25 - j as f64);
    let i32s = Array3::from_shape_fn((2, 3, 4), |(i, j, k)| (i * 100 + j * 10 + k) as i32 - 50);
    let bools = Array1::from(vec![true, false, true]);
    let scalar = Array0::from_elem((), 7_u16);
    let empty = Array2::<f32>::zeros((0, 3));
    storage.save(WF, "f64", &f64s).unwrap();
    storage.save(WF, "i32", &i32s).unwrap();
    storage.save(WF, "bool", &bools).unwrap();
    storage.save(WF, "scalar", &scalar).unwrap();
    storage.save(WF, "empty", &empty).unwrap();
    // Written block by block, shuffled and compressed.
    let options = NdarrayOptions {
        chunk: Some(vec![64, 7]),
        compression: Compression::Deflate { level: 4 },
        ..NdarrayOptions::default()
    };
    let mut writer = storage
        .array_writer_with::<f64>(WF, "written", &[300, 7], &options)
        .unwrap();
    for rows in [0..100, 100..101, 101..300] {
        writer.write(&f64s.slice(ndarray::s![rows, ..])).unwrap();
    }
    writer.finish().unwrap();
    let tasks = ["f64", "i32", "bool", "scalar", "empty", "written"];
    let folders: Vec<String> = tasks
        .iter()
        .map(|task| {
            let bytes = storage.backend().get(WF, task).unwrap().unwrap();
            let pid = &record::decode(&bytes).unwrap().header.persistent_ids[0];
            folder
                .join(WF)
                .join("bigdata")
                .join(&pid.location)
                .display()
                .to_string()
        })
        .collect();
    let script = scripts().join("read_zarr.py");
    let mut args = vec![script.to_str().unwrap()];
    args.extend(folders.iter().map(String::as_str));
    let seen: Value = serde_json::from_str(&run(&python(), &args)).unwrap();
    let expect = |index: usize, dtype: &str, shape: Value, values: Value| {
        let array = &seen[index];
        assert_eq!(array["dtype"], dtype, "{array}");
        assert_eq!(array["shape"], shape, "{array}");
        assert_eq!(array["values"], values, "{array}");
        assert_eq!(
            array["attrs"]["functionfuse_serializer"], "ndarray",
            "{array}"
        );
        assert!(
            array["codecs"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c == "Crc32cCodec"),
            "{array}"
        );
    };
    expect(
        0,
        "float64",
        json!([300, 7]),
        json!(f64s.as_slice().unwrap()),
    );
    expect(
        1,
        "int32",
        json!([2, 3, 4]),
        json!(i32s.as_slice().unwrap()),
    );
    expect(2, "bool", json!([3]), json!([true, false, true]));
    expect(3, "uint16", json!([]), json!([7]));
    expect(4, "float32", json!([0, 3]), json!([]));
    expect(
        5,
        "float64",
        json!([300, 7]),
        json!(f64s.as_slice().unwrap()),
    );
    assert_eq!(
        seen[5]["codecs"],
        json!(["BytesCodec", "Shuffle", "GzipCodec", "Crc32cCodec"]),
        "{}",
        seen[5]
    );
}

/// The Python snippet of docs/s3.md (it imports the one of docs/format.md,
/// written beside it).
fn s3_docs_snippet(dir: &Path) -> PathBuf {
    docs_snippet(dir);
    extract_snippet("s3.md", "read_s3_record.py", dir)
}

#[test]
#[ignore = "needs a Python with boto3 and msgpack: run `cargo xtask ci`"]
fn python_reads_s3_records_with_boto3_and_the_documented_snippet() {
    let (storage, folder) = s3_storage();
    let report = Report {
        name: "on s3".into(),
        scores: vec![0.75],
        status: Status::Done,
        retry: Status::Failed { code: 4 },
        note: Some("kept in a bucket".into()),
        matrix: Persistent(Array2::from_elem((2, 2), 0.5)),
    };
    storage.save(WF, "report", &report).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let snippet = s3_docs_snippet(dir.path());
    let server = s3_server();
    let bucket_root = server.root().join(functionfuse_s3_server::TEST_BUCKET);
    let key = folder
        .strip_prefix(&bucket_root)
        .unwrap()
        .join(WF)
        .join("report");
    let output = std::process::Command::new(python())
        .args([
            snippet.to_str().unwrap(),
            functionfuse_s3_server::TEST_BUCKET,
            key.to_str().unwrap(),
        ])
        .env("AWS_ENDPOINT_URL", server.endpoint())
        .env("AWS_ACCESS_KEY_ID", server.access_key())
        .env("AWS_SECRET_ACCESS_KEY", server.secret_key())
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let seen: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(seen["payload"]["name"], "on s3");
    assert_eq!(seen["payload"]["note"], "kept in a bucket");
    assert_eq!(seen["payload"]["retry"], json!({"Failed": {"code": 4}}));
    let pid = &seen["header"]["persistent_ids"][0];
    assert_eq!(pid["protocol"], "s3 protocol");
    assert_eq!(pid["metadata"]["format"], "zarr");
    assert_eq!(seen["payload"]["matrix"]["$persistent"], *pid);
}
