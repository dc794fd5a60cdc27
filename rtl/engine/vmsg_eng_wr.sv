// Write path: takes used->idx write requests and element-burst descriptors, drives the AXI4
// AW and W channels, keeps the in-order record of outstanding writes and hands each B response
// back to its queue.
//
// All writes use one AXI ID, so B responses arrive in issue order and a single FIFO tracks them.
// A used->idx write (one beat, 2 bytes) has priority over element bursts; it is only requested
// for elements whose B responses have all been OKAY, so ordering holds by construction. W data of
// a burst is sent from the cycle after the burst is taken, together with its AW (the master does
// not wait for AWREADY before WVALID, as AXI requires). Element words come from the element FIFO
// through a read window: beat k of a burst at byte address A carries the words whose addresses
// fall into that beat; a word pointer remembers whether the next element starts at its id or its
// len word (an element split at a 4 KiB boundary). Descriptors of a queue that is in error or
// being reset are discarded: their words are removed from the element FIFO, nothing is written.
//
// Timing: the lanes, word count and last flag of the current beat are registers, loaded with the
// transaction and advanced with each beat. A descriptor only exists once all of its elements are
// in the element FIFO (they are pushed when accepted, several stages before the builder), so the
// words of a beat are always there (asserted). The events that go to the queues (descriptor
// taken, transaction issued, B response) are registered first; only idx_take_o is not.

`default_nettype none

`include "vmsg_assert.svh"

module vmsg_eng_wr #(
  parameter int unsigned NUM_Q          = 4,    // queues, 1..64
  parameter int unsigned AW             = 32,   // AXI address width
  parameter int unsigned DW             = 64,   // AXI data width, 32..1024
  parameter int unsigned IDW            = 4,    // AXI ID width
  parameter int unsigned WR_OUTSTANDING = 32,   // write transactions in flight, power of two
  parameter logic [31:0] AXI_ID      = '0,      // AxID of every transaction (< 2^IDW)
  parameter logic [3:0]  AXI_CACHE   = 4'b0010, // AxCACHE
  parameter logic [2:0]  AXI_PROT    = 3'b000,  // AxPROT
  parameter int unsigned ELEM_DEPTH     = 64,   // element FIFO depth (for the count width)
  localparam int unsigned QW    = (NUM_Q > 1) ? $clog2(NUM_Q) : 1,
  localparam int unsigned LANES = DW / 32,                 // 32-bit words per beat
  localparam int unsigned NRD   = (LANES + 2) / 2,         // elements a beat can touch
  localparam int unsigned ECW   = $clog2(ELEM_DEPTH + 1),
  localparam int unsigned ERW   = $clog2(NRD + 1)
) (
  input  wire                      clk_i,
  input  wire                      rst_ni,
  // memory timeout (see vmsg_eng_tmo)
  input  wire  [23:0]              tmo_limit_i,
  output logic                     tmo_o,
  output logic [AW-1:0]            tmo_addr_o,
  // used->idx write request
  input  wire                      idx_valid_i,
  input  wire  [QW-1:0]            idx_q_i,
  input  wire  [15:0]              idx_val_i,
  input  wire  [AW-1:0]            idx_addr_i,
  output logic                     idx_take_o,
  // element-burst descriptor
  input  wire                      d_valid_i,
  input  wire  [QW-1:0]            d_q_i,
  input  wire  [AW-1:0]            d_addr_i,
  input  wire  [10:0]              d_words_i,
  input  wire  [8:0]               d_beats_i,
  input  wire  [15:0]              d_end_i,
  input  wire                      d_adv_i,
  output logic                     d_take_o,
  input  wire  [NUM_Q-1:0]         q_flush_i,
  // element FIFO window
  input  wire  [NRD-1:0][63:0]     ew_data_i,
  input  wire  [ECW-1:0]           ew_count_i,
  output logic [ERW-1:0]           ew_pop_o,
  // events to the queues
  // (one-hot by queue, registered)
  output logic [NUM_Q-1:0]         ld_o,         // element descriptor taken (issued or discarded), a cycle late
  output logic [15:0]              ld_end_o,
  output logic                     ld_adv_o,
  output logic [NUM_Q-1:0]         issue_o,      // write transaction issued, a cycle late
  output logic                     issue_idx_o,  // ... the used->idx write
  output logic [NUM_Q-1:0]         b_o,          // B response (registered)
  output logic                     b_idx_o,
  output logic                     b_ok_o,
  output logic [15:0]              b_val_o,
  output logic                     b_adv_o,
  output logic [AW-1:0]            b_addr_o,
  // AXI4 write channels
  output logic [IDW-1:0]           m_axi_awid,
  output logic [AW-1:0]            m_axi_awaddr,
  output logic [7:0]               m_axi_awlen,
  output logic [2:0]               m_axi_awsize,
  output logic [1:0]               m_axi_awburst,
  output logic                     m_axi_awlock,
  output logic [3:0]               m_axi_awcache,
  output logic [2:0]               m_axi_awprot,
  output logic                     m_axi_awvalid,
  input  wire                      m_axi_awready,
  output logic [DW-1:0]            m_axi_wdata,
  output logic [DW/8-1:0]          m_axi_wstrb,
  output logic                     m_axi_wlast,
  output logic                     m_axi_wvalid,
  input  wire                      m_axi_wready,
  input  wire  [IDW-1:0]           m_axi_bid,
  input  wire  [1:0]               m_axi_bresp,
  input  wire                      m_axi_bvalid,
  output logic                     m_axi_bready
);

  localparam int unsigned S   = $clog2(DW / 8);
  localparam int unsigned LW  = (LANES > 1) ? $clog2(LANES) : 1;

  // tracker entry: one outstanding write
  typedef struct packed {
    logic          is_idx;  // a used->idx write (else an element burst)
    logic [QW-1:0] q;       // its queue
    logic [15:0]   val;     // the idx written, or the ring index after the burst's last complete element
    logic          adv;     // the burst ends on an element boundary
    logic [AW-1:0] addr;    // address of the first byte
  } trk_t;
  localparam int unsigned TW = $bits(trk_t);

  // elaboration-time parameter checks
  if (IDW < 32 && (64'(AXI_ID) >> IDW) != 64'd0) begin : g_param_err_id
    $fatal(1, "vmsg_eng: AXI_ID does not fit into the AXI ID width");
  end
  if (DW < 32 || DW > 1024 || (DW & (DW - 1)) != 0) begin : g_param_err0
    $fatal(1, "vmsg_eng_wr: DW must be 32..1024, a power of two");
  end

  function automatic logic [NUM_Q-1:0] onehot(logic [QW-1:0] q);
    return NUM_Q'(1) << q;
  endfunction

  // ---------------------------------------------------------------------------------------
  // current transaction on W, and its current beat
  logic          cur_valid_q, cur_isidx_q, cur_disc_q, last_q, wp_q;
  logic [10:0]   left_q;     // words of the burst not yet sent, this beat's included
  logic [LW-1:0] lane_q;     // first lane of this beat
  logic [10:0]   nw_q;       // words in this beat
  logic [15:0]   cur_val_q;
  logic [S-1:0]  cur_off_q;

  logic w_hs, step, finishing;
  assign m_axi_wvalid = cur_valid_q && !cur_disc_q;
  assign m_axi_wlast  = last_q;
  assign w_hs         = m_axi_wvalid && m_axi_wready;
  assign step         = cur_valid_q && (cur_disc_q || m_axi_wready);
  assign finishing    = step && last_q;

  // W data (combinational from registers and the FIFO window)
  always_comb begin
    logic [2*NRD-1:0][31:0] ww;
    for (int unsigned i = 0; i < NRD; i++) begin
      ww[2*i]     = ew_data_i[i][31:0];   // id
      ww[2*i + 1] = ew_data_i[i][63:32];  // len
    end
    m_axi_wdata = '0;
    m_axi_wstrb = '0;
    if (cur_isidx_q) begin
      m_axi_wdata = {(DW / 16){cur_val_q}};
      m_axi_wstrb = (DW / 8)'(2'b11) << cur_off_q;
    end else begin
      for (int unsigned j = 0; j < LANES; j++) begin
        if (11'(j) >= 11'(lane_q) && 11'(j) < 11'(lane_q) + nw_q) begin
          m_axi_wdata[32*j +: 32] = ww[32'(wp_q) + j - 32'(lane_q)];
          m_axi_wstrb[4*j +: 4]   = 4'hF;
        end
      end
    end
  end

  always_comb begin
    logic [11:0] consumed;
    consumed = 12'(wp_q) + 12'(nw_q);
    ew_pop_o = (step && !cur_isidx_q) ? ERW'(consumed >> 1) : '0;
  end

  // the beat after this one: all lanes from lane 0, or what is left
  logic [10:0] left_next, nw_next;
  assign left_next = left_q - nw_q;
  assign nw_next   = (left_next < 11'(LANES)) ? left_next : 11'(LANES);

  // the first beat of a descriptor
  logic [LW-1:0] d_lane;
  logic [10:0]   d_room, d_nw;
  assign d_lane = LW'(32'(d_addr_i[S-1:0]) >> 2);
  assign d_room = 11'(LANES) - 11'(d_lane);
  assign d_nw   = (d_words_i < d_room) ? d_words_i : d_room;

  // ---------------------------------------------------------------------------------------
  // tracker of outstanding writes
  logic [0:0][TW-1:0] trk_head;
  logic               trk_full, trk_empty, trk_push, trk_pop;
  trk_t               trk_in, trk_hd;
  logic [$clog2(WR_OUTSTANDING + 1)-1:0] trk_count;
  vmsg_eng_fifo #(.WIDTH(TW), .DEPTH(WR_OUTSTANDING), .NRD(1)) u_trk (
    .clk_i, .rst_ni,
    .push_i  (trk_push),
    .wdata_i (trk_in),
    .pop_i   (trk_pop),
    .rdata_o (trk_head),
    .count_o (trk_count),
    .full_o  (trk_full),
    .empty_o (trk_empty)
  );
  assign trk_hd = trk_head[0];

  // ---------------------------------------------------------------------------------------
  // taking the next transaction
  logic can_load, aw_free, load_idx, load_desc, d_disc;
  assign can_load  = !cur_valid_q || finishing;
  assign aw_free   = !m_axi_awvalid || m_axi_awready;
  assign d_disc    = q_flush_i[d_q_i];
  assign load_idx  = can_load && idx_valid_i && aw_free && !trk_full;
  // (a descriptor that is discarded waits for the AW register and the tracker too: it keeps the
  // decision independent of the queue state behind the descriptor)
  assign load_desc = can_load && !idx_valid_i && d_valid_i && aw_free && !trk_full;

  logic issue;
  assign idx_take_o  = load_idx;
  assign d_take_o    = load_desc;
  assign issue       = load_idx || (load_desc && !d_disc);
  assign trk_push    = issue;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      ld_o        <= '0;
      ld_end_o    <= '0;
      ld_adv_o    <= 1'b0;
      issue_o     <= '0;
      issue_idx_o <= 1'b0;
    end else begin
      ld_o        <= load_desc ? onehot(d_q_i) : '0;
      ld_end_o    <= d_end_i;
      ld_adv_o    <= d_adv_i;
      issue_o     <= issue ? onehot(load_idx ? idx_q_i : d_q_i) : '0;
      issue_idx_o <= load_idx;
    end
  end
  assign trk_in      = load_idx ? '{is_idx: 1'b1, q: idx_q_i, val: idx_val_i, adv: 1'b0, addr: idx_addr_i}
                                : '{is_idx: 1'b0, q: d_q_i, val: d_end_i, adv: d_adv_i, addr: d_addr_i};

  logic          awvalid_q;
  logic [AW-1:0] awaddr_q;
  logic [7:0]    awlen_q;
  logic [2:0]    awsize_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      cur_valid_q <= 1'b0;
      cur_isidx_q <= 1'b0;
      cur_disc_q  <= 1'b0;
      last_q      <= 1'b0;
      left_q      <= '0;
      lane_q      <= '0;
      nw_q        <= '0;
      cur_val_q   <= '0;
      cur_off_q   <= '0;
      wp_q        <= 1'b0;
      awvalid_q   <= 1'b0;
      awaddr_q    <= '0;
      awlen_q     <= '0;
      awsize_q    <= '0;
    end else begin
      if (step && !cur_isidx_q) begin
        wp_q   <= wp_q ^ nw_q[0];
        left_q <= left_next;
        lane_q <= '0;
        nw_q   <= nw_next;
        last_q <= (left_next <= 11'(LANES));
      end
      if (finishing) cur_valid_q <= 1'b0;
      if (load_idx) begin
        cur_valid_q <= 1'b1;
        cur_isidx_q <= 1'b1;
        cur_disc_q  <= 1'b0;
        last_q      <= 1'b1;
        cur_val_q   <= idx_val_i;
        cur_off_q   <= idx_addr_i[S-1:0];
      end else if (load_desc) begin
        cur_valid_q <= 1'b1;
        cur_isidx_q <= 1'b0;
        cur_disc_q  <= d_disc;
        left_q      <= d_words_i;
        lane_q      <= d_lane;
        nw_q        <= d_nw;
        last_q      <= (d_beats_i == 9'd1);
      end

      if (load_idx) begin
        awvalid_q <= 1'b1;
        awaddr_q  <= idx_addr_i;
        awlen_q   <= 8'd0;
        awsize_q  <= 3'd1;
      end else if (load_desc && !d_disc) begin
        awvalid_q <= 1'b1;
        awaddr_q  <= d_addr_i;
        awlen_q   <= 8'(d_beats_i - 9'd1);
        awsize_q  <= 3'(S);
      end else if (m_axi_awready) begin
        awvalid_q <= 1'b0;
      end
    end
  end

  assign m_axi_awid    = IDW'(AXI_ID);
  assign m_axi_awaddr  = awaddr_q;
  assign m_axi_awlen   = awlen_q;
  assign m_axi_awsize  = awsize_q;
  assign m_axi_awburst = 2'b01;     // INCR
  assign m_axi_awlock  = 1'b0;
  assign m_axi_awcache = AXI_CACHE;  // default 0010: normal, non-cacheable, non-bufferable
  assign m_axi_awprot  = AXI_PROT;
  assign m_axi_awvalid = awvalid_q;

  // memory timeout: no response for tmo_limit_i cycles while transactions are outstanding
  vmsg_eng_tmo #(.AW(AW)) u_tmo (
    .clk_i, .rst_ni,
    .limit_i     (tmo_limit_i),
    .busy_i      (!trk_empty),
    .resp_i      (trk_pop),
    .head_addr_i (trk_hd.addr),
    .tmo_o       (tmo_o),
    .tmo_addr_o  (tmo_addr_o)
  );

  // ---------------------------------------------------------------------------------------
  // B responses (in order), registered with their tracker entry
  logic [NUM_Q-1:0] b_v_q;
  logic             b_ok_q;
  trk_t             b_info_q;
  assign m_axi_bready = 1'b1;
  assign trk_pop      = m_axi_bvalid && !trk_empty;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      b_v_q    <= '0;
      b_ok_q   <= 1'b0;
      b_info_q <= '0;
    end else begin
      b_v_q <= trk_pop ? onehot(trk_hd.q) : '0;
      if (trk_pop) begin
        b_ok_q   <= !m_axi_bresp[1];
        b_info_q <= trk_hd;
      end
    end
  end
  assign b_o    = b_v_q;
  assign b_ok_o = b_ok_q;
  assign b_idx_o  = b_info_q.is_idx;
  assign b_val_o  = b_info_q.val;
  assign b_adv_o  = b_info_q.adv;
  assign b_addr_o = b_info_q.addr;

  logic unused_wr;
  assign unused_wr = ^{m_axi_bid, m_axi_bresp[0], trk_count, w_hs, b_info_q.q};

`ifdef VMSG_ASSERT_ON
  // checks start one clock after reset (see vmsg_assert.svh)
  `VMSG_SVA_EN(clk_i, rst_ni)
  // words in the element FIFO from the next one to send (the first element may be half sent)
  logic [11:0] avail_words_sva;
  assign avail_words_sva = 12'({ew_count_i, 1'b0}) - 12'(wp_q);

  // input rules. The builders upstream: a descriptor is 1..1024 words in its 4 KiB page, 4-byte
  // aligned, with the beats its first lane and words make, and exists only once all of its
  // words are in the element FIFO, behind those of the burst being sent; a used->idx write is
  // 2-byte aligned. The element FIFO: only this block removes entries, and an entry it holds
  // stays as it is while none is removed.
  `VMSG_ASSUME(a_desc_shape,
      d_valid_i -> d_words_i >= 11'd1 && d_words_i <= 11'd1024 && d_addr_i[1:0] == 2'd0
                   && 32'(d_addr_i[11:0]) + 32'(d_words_i) * 4 <= 32'd4096
                   && 32'(d_beats_i) == (32'(d_lane) + 32'(d_words_i) + LANES - 1) / LANES,
    ("vmsg_eng_wr: descriptor of %0d words, %0d beats at 0x%0h", d_words_i, d_beats_i, d_addr_i))
  `VMSG_ASSUME(a_desc_words,
      d_valid_i -> 32'(avail_words_sva)
                   >= 32'(d_words_i) + ((cur_valid_q && !cur_isidx_q) ? 32'(left_q) : 0),
    ("vmsg_eng_wr: descriptor offered before its words are in the element FIFO"))
  `VMSG_ASSUME(a_idx_align, idx_valid_i -> idx_addr_i[0] == 1'b0,
    ("vmsg_eng_wr: used->idx write to an odd address"))
  `VMSG_ASSUME(a_ew_fill, 32'(ew_count_i) + 32'($past(ew_pop_o)) >= 32'($past(ew_count_i)),
    ("vmsg_eng_wr: the element FIFO lost entries this block did not pop"))
  logic [NRD-1:0][63:0] ew_data_sva_q;  // the window, its count and the pop of the cycle before
  logic [ECW-1:0]       ew_count_sva_q;
  logic [ERW-1:0]       ew_pop_sva_q;
  logic                 ew_stable_sva;
  always_ff @(posedge clk_i) begin
    ew_data_sva_q  <= ew_data_i;
    ew_count_sva_q <= ew_count_i;
    ew_pop_sva_q   <= ew_pop_o;
  end
  always_comb begin
    ew_stable_sva = 1'b1;
    for (int unsigned i = 0; i < NRD; i++) begin
      if (ew_pop_sva_q == '0 && i < 32'(ew_count_sva_q) && ew_data_i[i] != ew_data_sva_q[i]) begin
        ew_stable_sva = 1'b0;
      end
    end
  end
  `VMSG_ASSUME(a_ew_stable, ew_stable_sva,
    ("vmsg_eng_wr: an element FIFO entry changed without a pop"))

  // what the block guarantees
  `VMSG_ASSERT(a_half_there, wp_q -> ew_count_i != '0,
    ("vmsg_eng_wr: the element whose id word was sent is no longer in the element FIFO"))
  `VMSG_ASSERT(a_burst_there, cur_valid_q && !cur_isidx_q -> avail_words_sva >= 12'(left_q),
    ("vmsg_eng_wr: the rest of the burst is not in the element FIFO"))
  `VMSG_ASSERT(a_words_there, cur_valid_q && !cur_isidx_q -> avail_words_sva >= 12'(nw_q),
    ("vmsg_eng_wr: burst words not in the element FIFO"))
  `VMSG_ASSERT(a_beat_words,
      cur_valid_q && !cur_isidx_q -> nw_q >= 11'd1 && nw_q <= left_q
        && 32'(lane_q) + 32'(nw_q) <= LANES && last_q == (nw_q == left_q),
    ("vmsg_eng_wr: beat word count inconsistent"))
  `VMSG_ASSERT(a_aw_stable,
      $past(m_axi_awvalid && !m_axi_awready) -> m_axi_awvalid && $stable(m_axi_awaddr)
        && $stable(m_axi_awlen) && $stable(m_axi_awsize),
    ("vmsg_eng_wr: AW changed while waiting"))
  `VMSG_ASSERT(a_w_stable,
      $past(m_axi_wvalid && !m_axi_wready) -> m_axi_wvalid && $stable(m_axi_wdata)
        && $stable(m_axi_wstrb) && $stable(m_axi_wlast),
    ("vmsg_eng_wr: W changed while waiting"))
  `VMSG_ASSERT(a_aw_4k,
      m_axi_awvalid
        -> ((32'(m_axi_awaddr[11:0]) >> m_axi_awsize) + 32'(m_axi_awlen) + 1) << m_axi_awsize <= 32'd4096,
    ("vmsg_eng_wr: burst crosses a 4 KiB boundary"))
  `VMSG_ASSUME(a_b_expected, m_axi_bvalid -> !trk_empty,
    ("vmsg_eng_wr: B response without an outstanding write"))
`endif

endmodule

`default_nettype wire
