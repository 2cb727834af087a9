import Foundation
import Memcached
import Testing

@testable import MCDUtils

/// The stored form of a session record: written field by field, it must be the canonical map
/// docs/wire-format.md describes, and read back field by field to the same record.
@Suite struct SessionRecordTests {
  let proxy = MemCacheProxy(store: InProcessStore())

  /// The record's map as docs/wire-format.md spells it out.
  private func documentedMap(_ record: SessionRecord) -> SessionValue {
    var map: [String: SessionValue] = [
      "v": 2, "e": .int(Int64(record.epoch)), "n": .int(Int64(clamping: record.version)),
    ]
    if record.isEnded {
      map["ended"] = true
    } else {
      map["created"] = .double(record.created.timeIntervalSince1970)
      map["accessed"] = .double(record.accessed.timeIntervalSince1970)
      map["data"] = record.data
      if let expires = record.expires { map["expires"] = .double(expires.timeIntervalSince1970) }
      if let lifetime = record.lifetime { map["ttl"] = .double(lifetime) }
    }
    return .map(map)
  }

  private var records: [SessionRecord] {
    let created = Date(timeIntervalSince1970: 1_700_000_000.25)
    let accessed = Date(timeIntervalSince1970: 1_700_000_600.5)
    let data: SessionValue = ["user": "alice", "roles": ["a", "b"], "n": 3, "nested": ["x": 1.5]]
    return [
      SessionRecord(epoch: 0, version: 1, created: created, accessed: accessed, data: [:]),
      SessionRecord(epoch: 7, version: 42, created: created, accessed: accessed, data: data),
      SessionRecord(
        epoch: 1, version: 2, created: created, accessed: accessed, data: data,
        expires: accessed.addingTimeInterval(3600), lifetime: 3600),
      SessionRecord(
        epoch: 3, version: 5, created: created, accessed: accessed, data: data, lifetime: 90),
      SessionRecord(
        epoch: 9, version: SessionRecord.ended, created: created, accessed: accessed, data: .nil),
    ]
  }

  @Test func aRecordIsStoredAsTheDocumentedMapWithItsKeysSorted() throws {
    for record in records {
      let written = try proxy.encode(record, key: "browser1")
      let expected = try ValueFormat.encode(documentedMap(record))
      #expect(written.bytes == expected.bytes)
      #expect(written.flags == expected.flags)
    }
  }

  @Test func aStoredRecordReadsBackAsTheSameRecord() throws {
    for record in records {
      let (bytes, flags) = try proxy.encode(record, key: "browser1")
      let read = try SessionRecord(
        item: MemcachedItem(value: bytes, flags: flags), key: "browser1", proxy: proxy)
      if record.isEnded {
        #expect(read.isEnded && read.epoch == record.epoch)
      } else {
        #expect(read == record)
      }
    }
  }

  @Test func aFieldGivenTwiceIsRefusedWithWhereItWas() throws {
    let (bytes, flags) = try ValueFormat.write(sealing: nil, key: "") {
      writer throws(SessionValueFormatError) in
      try writer.writeMapHeader(count: 2)
      try writer.writeString("v")
      try writer.write(2, depth: 1)
      try writer.writeString("v")
      try writer.write(1, depth: 1)
    }
    #expect {
      try SessionRecord(
        item: MemcachedItem(value: bytes, flags: flags), key: "browser1", proxy: proxy)
    } throws: { error in
      // The map header is one byte, the first key two and its value one: the second key is
      // at offset 4 of the payload.
      guard case .undecodable(.duplicateKey("v", offset: 4))? = error as? MemCacheError else {
        return false
      }
      return true
    }
  }

  @Test func keysThatAreNotFieldsAreSkipped() throws {
    let record = records[1]
    guard case .map(var map) = documentedMap(record) else { return }
    map["written-by"] = "another program"
    map["\u{00e9}t\u{00e9}"] = ["any": "value"]
    let (bytes, flags) = try ValueFormat.encode(SessionValue.map(map))
    let read = try SessionRecord(
      item: MemcachedItem(value: bytes, flags: flags), key: "browser1", proxy: proxy)
    #expect(read == record)
  }
}
